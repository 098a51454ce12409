"""Fixtures for the harness's own unit tests."""

import socket
from pathlib import Path

import pytest

from homework.settings import Settings


@pytest.fixture(scope="session")
def tensorflow_first():
    """TensorFlow set up before a pytester test starts: pytester unloads the modules a test
    imported, and a second TensorFlow import in one process aborts it."""
    from homework import compat

    return compat.tensorflow()


@pytest.fixture
def tmp_settings(tmp_path, settings) -> Settings:
    """Session settings (shared cache of stand-ins) with results going to a temp folder."""
    return settings.replace(results_dir=tmp_path / "results")


@pytest.fixture
def isolated_settings(tmp_path) -> Settings:
    """Settings with an empty cache of their own."""
    return Settings.load({"cache_dir": str(tmp_path / "cache"), "results_dir": str(tmp_path / "results")}, env={})



FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to resolve a host or connect fails at once, as on a machine without a
    network; the list collects the attempts."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise socket.gaierror("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.fixture(scope="session")
def rubric():
    from homework.grading.rubric import Rubric

    return Rubric.load()


@pytest.fixture(scope="session")
def record():
    """A run record made by the embedded checks on this 2-core machine (tests/fixtures/record_cpu.json)."""
    from homework import record as run_record

    return run_record.read(FIXTURES / "record_cpu.json")
