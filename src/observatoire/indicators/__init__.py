"""Counting persons, nights, flows, pathways, durations, exits, housing: the annual indicators."""
