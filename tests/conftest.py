"""Shared fixtures: the fake Hub / fake GitHub servers live in tests/fakes."""

pytest_plugins = ["fakes.fixtures"]
