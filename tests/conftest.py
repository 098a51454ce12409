"""Fixtures for the harness's own unit tests."""

import pytest

from homework.settings import Settings


@pytest.fixture
def tmp_settings(tmp_path, settings) -> Settings:
    """Session settings (shared cache of stand-ins) with results going to a temp folder."""
    return settings.replace(results_dir=tmp_path / "results")


@pytest.fixture
def isolated_settings(tmp_path) -> Settings:
    """Settings with an empty cache of their own."""
    return Settings.load({"cache_dir": str(tmp_path / "cache"), "results_dir": str(tmp_path / "results")}, env={})

