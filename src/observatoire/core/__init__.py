"""Bottom layer: canonical schema, vocabulary, errors, storage, French formatting, statistics."""
