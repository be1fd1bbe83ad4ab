"""From partner exports to canonical tables.

Readers, mappings, pseudonymisation, ingest, validation, check.
"""
