"""The leak guard: no identity from the raw exports in any output."""
