"""Field records that are not service contacts: the violence barometer, street-work
observations and the neighbourhood diagnosis, the neighbourhood relays (issue « Field records »)."""
