"""From partner exports to canonical tables: readers, mappings, pseudonymisation, ingest,
validation, check."""
