"""The neighbourhood relays' report, monthly sheet and internal volunteer statements."""
