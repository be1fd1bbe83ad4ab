"""Field records (issue 19): analyses of records that are not service contacts (incident sheets,
street-work observations, the neighbourhood relays' service sheets), at the plans' layer."""
