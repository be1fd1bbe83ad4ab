"""Throwaway keys for the tests (never an analyst's key): drawn once at random, so that they pass
the strength checks of :func:`observatoire.intake.pseudonymise.load_key`."""

TEST_KEY = "b24bfb1dade228cc6a950050c8abf8296e6afc4c07a33155b24a7d643ff4e0ac"
"""Every test's key (``conftest`` sets ``OBSERVATOIRE_CLE`` to it)."""
PIPELINE_KEY = "c8fc72307a02d2f54dc66b86e92eafc95e8790b0e544a6a21d05a0119cea1b35"
"""The key of the end-to-end ``dvc repro`` of tests/integration/test_pipeline_e2e.py."""
NETWORK_KEY = "a8d4d60155430ecdc25d5a009aca6a61a331de6b37d475582768693c38b87702"
"""The key of the small networks' ``dvc repro`` (tests/support/small_network.py)."""
OTHER_KEY = "ed7b8be5db217b3d67020d86e361b0db39092af25453fdbbc7e69fb5336bb233"
"""A second key, for the tests of a changed key."""
