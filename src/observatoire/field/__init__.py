"""Field records that are not service contacts (issue « Field records »): the violence barometer
(incident sheets, worker survey, testimonies), street-work observations and the neighbourhood
diagnosis, the neighbourhood relays' service sheets and allowances. Analyses at the plans' layer."""
