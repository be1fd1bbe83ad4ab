"""Typed settings (``params/pipeline.yaml``) and the project's paths."""
