"""Test configuration: infrastructure fixtures live in tests/fixtures and are loaded as plugins."""

pytest_plugins = ["tests.fixtures.infra"]
