"""Field records (issue 19): the violence barometer, the neighbourhood diagnosis, the relays.

At the plans level: may import core, config, intake, indicators and models.
"""
