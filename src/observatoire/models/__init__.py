"""Statistical models: count trends with diagnostics, STL, the winter forecast."""
