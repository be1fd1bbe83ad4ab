"""observatoire: the social-precarity observatory of a Relais Social, as a reproducible pipeline.

Partner exports are read through one mapping file per partner, pseudonymised at ingest,
validated, linked across partners, and turned into indicators, trend models and reports.
"""

__version__ = "0.1.0"
