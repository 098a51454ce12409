"""pytest options and fixtures shared by checks/ (the homework) and tests/ (the harness).

    pytest checks/ --profile embedded|real --record results/<label>.json --device-label LABEL
"""
from __future__ import annotations

from pathlib import Path

import pytest

from homework.settings import Settings

pytest_plugins = ["pytester"]  # tests/ runs small pytest sessions (the checks' results plugin)


def pytest_addoption(parser):
    group = parser.getgroup("hw5", "Homework 5 harness")
    group.addoption("--profile", choices=("embedded", "real"), default=None, help="data and modules: embedded (offline) or real")
    group.addoption("--record", default=None, help="run record to write (default results/<device-label>.json)")
    group.addoption("--device-label", default=None, help="names this device in records and benchmark storage")
    group.addoption("--hw5-cache-dir", default=None, help="data and module cache (default $XDG_CACHE_HOME/hw5)")


def _settings(config) -> Settings:
    return Settings.load(
        {
            "profile": config.getoption("--profile"),
            "device_label": config.getoption("--device-label"),
            "cache_dir": config.getoption("--hw5-cache-dir"),
        }
    )


def _record_path(config) -> Path:
    from homework import record

    given = config.getoption("--record")
    return Path(given) if given else record.default_path(_settings(config))


def pytest_configure(config):
    from homework.grading.checks_plugin import ChecksResults, checks_path

    config.pluginmanager.register(ChecksResults(checks_path(_record_path(config))), "hw5-checks-results")
    label = config.getoption("--device-label")
    storage = getattr(config.option, "benchmark_storage", None)
    if label and storage in (None, "file://./.benchmarks"):
        # One folder per device, so runs from a Jetson and a PC never share a counter.
        config.option.benchmark_storage = f"file://./.benchmarks/{label}"


def pytest_benchmark_update_machine_info(config, machine_info):
    """GPU, Jetson model, L4T, power mode, clocks, versions and profile beside pytest-benchmark's CPU info."""
    from homework import device, record

    settings = _settings(config)
    machine_info["hw5"] = {
        "device_label": settings.device_label or device.default_label(),
        "profile": settings.profile,
        "device": device.describe(),
        "versions": record.provenance(settings)["versions"],
    }


@pytest.fixture(scope="session")
def settings(pytestconfig) -> Settings:
    return _settings(pytestconfig)


@pytest.fixture(scope="session")
def record_path(pytestconfig) -> Path:
    return _record_path(pytestconfig)


@pytest.fixture(scope="session")
def store(record_path, settings):
    """store(task_name, result): put a task's result into this run's record."""
    from homework import record

    def put(name, result):
        return record.put_task(record_path, settings, name, result)

    return put


@pytest.fixture(scope="module", autouse=True)
def resource_use(request):
    """Samples RSS (and tegrastats / nvidia-smi where present) while a checks/ file runs, into the record."""
    if Path(request.node.path).parent.name != "checks":
        yield
        return
    from homework import record
    from homework.resources import Sampler

    with Sampler() as sampler:
        yield
    settings = _settings(request.config)
    record.put_resources(_record_path(request.config), settings, Path(request.node.path).name, sampler.summary())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A project error (offline handle, bad input file) is reported as its one line, not a traceback."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and report.failed:
        from homework.errors import HomeworkError

        if isinstance(call.excinfo.value, HomeworkError):
            report.longrepr = f"hw5: {type(call.excinfo.value).__name__}: {call.excinfo.value}"
