"""Counting persons, nights, flows, pathways, durations, exits and housing: the annual
indicators."""
