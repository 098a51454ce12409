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
    group.addoption("--hw5-settings", default=None, help="the resolved settings of `hw5 run` (a file it writes); other settings then come from it alone")


HW5_OPTIONS = ("--profile", "--device-label", "--hw5-cache-dir")


def _resolved(config):
    """(Settings, RunInfo) for this session, resolved once: from hw5 run's file, or from the options,
    HW5_* and the YAML file (pytest checks/ run by hand)."""
    cached = getattr(config, "_hw5_resolved", None)
    if cached:
        return cached
    from homework import record
    from homework.settings import read_handoff, resolve

    from homework.errors import HomeworkError

    try:
        config._hw5_resolved = _resolve(config, record, read_handoff, resolve)
    except HomeworkError as exc:  # a bad hw5.yaml, HW5_* value or handoff file: one line, not an INTERNALERROR
        raise pytest.UsageError(str(exc)) from None
    return config._hw5_resolved


def _resolve(config, record, read_handoff, resolve):
    handoff = config.getoption("--hw5-settings")
    if handoff:
        clashing = [name for name in HW5_OPTIONS if config.getoption(name) is not None]
        if clashing:
            raise pytest.UsageError(f"{clashing[0]}: set it on hw5 run (before --), not among the pytest arguments")
        settings, sources, run_id = read_handoff(Path(handoff))
        run = record.RunInfo(run_id=run_id, sources=sources)
    else:
        cli = {"profile": config.getoption("--profile"), "device_label": config.getoption("--device-label"),
               "cache_dir": config.getoption("--hw5-cache-dir")}
        settings, sources = resolve(cli)
        sources = {k: ("pytest option" if v == "command line" else v) for k, v in sources.items()}
        run = record.RunInfo(sources=sources)
    return settings, run


def _settings(config) -> Settings:
    return _resolved(config)[0]


def _record_path(config) -> Path:
    from homework import record

    given = config.getoption("--record")
    return Path(given) if given else record.default_path(_settings(config))


def pytest_configure(config):
    from homework import compat
    from homework.grading.checks_plugin import ChecksResults, checks_path

    from homework.errors import HomeworkError

    settings = _settings(config)
    try:
        compat.request_gpu_memory(settings.memory_budget_mb)  # before any check can start TensorFlow's devices
    except HomeworkError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(ChecksResults(checks_path(_record_path(config))), "hw5-checks-results")
    if config.pluginmanager.hasplugin("benchmark"):  # pytest-benchmark is optional: -p no:benchmark runs without it
        _benchmark_compare_across_labels(config)
        config.pluginmanager.register(BenchmarkLabels(), "hw5-benchmark-labels")
    else:
        config.pluginmanager.register(NoBenchmark(), "hw5-no-benchmark")


class NoBenchmark:
    """Without pytest-benchmark, each benchmark skips with the reason instead of erroring for its fixture."""

    @pytest.fixture
    def benchmark(self):
        pytest.skip("not timed: pytest-benchmark is not loaded (-p no:benchmark, or not installed)")


def _benchmark_label(config) -> str:
    from homework import device

    return device.label_for(_settings(config))


def _benchmark_compare_across_labels(config) -> None:
    """Runs before pytest-benchmark loads what to compare with (its pytest_configure is trylast), and
    only rewrites its public options: a bare --benchmark-compare=NNNN
    looks in every device's folder (.benchmarks/*/NNNN_*.json), and a bare --benchmark-compare
    means this device's latest saved run."""
    compare = getattr(config.option, "benchmark_compare", None)
    storage = str(getattr(config.option, "benchmark_storage", "") or "")
    if not compare or not storage.startswith("file://"):
        return
    root = Path(storage[len("file://"):])
    if compare is True:
        saved = sorted((root / _benchmark_label(config)).glob("[0-9][0-9][0-9][0-9]_*.json"))
        if saved:
            config.option.benchmark_compare = str(saved[-1])
    elif "/" not in str(compare) and not Path(str(compare)).is_file():
        config.option.benchmark_compare = f"*/{compare}"


class BenchmarkLabels:
    """pytest-benchmark's side of the device label; registered only when that plugin is loaded."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        """Each device saves its benchmarks in a folder named by its label (.benchmarks/<label>/NNNN_*.json),
        so runs from a Jetson and a PC never share a counter and `pytest-benchmark compare` shows the label.
        pytest-benchmark names that folder after its machine id (platform and Python) and has no option
        for it, so the session it registers is given the label as its machine id before anything is saved."""
        bench = session.config.pluginmanager.get_plugin("pytest-benchmark")
        if bench is None or not hasattr(bench, "storage"):
            return
        bench.machine_id = _benchmark_label(session.config)
        if hasattr(bench.storage, "default_machine_id"):  # file storage (elasticsearch has no folders)
            bench.storage.default_machine_id = bench.machine_id

    @pytest.hookimpl(optionalhook=True)
    def pytest_benchmark_update_machine_info(self, config, machine_info):
        """GPU, Jetson model, L4T, power mode, clocks, versions and profile beside pytest-benchmark's CPU info."""
        from homework import device, record

        settings = _settings(config)
        machine_info["hw5"] = {
            "device_label": device.label_for(settings),
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
def store(record_path, pytestconfig):
    """store(task_name, result): put a task's result into this run's record (a fresh record for this run)."""
    from homework import record

    settings, run = _resolved(pytestconfig)

    def put(name, result):
        return record.put_task(record_path, settings, name, result, run=run)

    return put


@pytest.fixture(scope="session")
def verdict(record_path):
    """verdict(check_id): the check's criterion applied to the record as stored (homework/verdicts.py),
    the same function the report, `hw5 grade` and the autograder apply. A verdict that did not
    run (a skipped task) skips the check with its reason."""
    from homework import record, verdicts

    def judge(check_id: str):
        outcome = verdicts.judge(check_id, record.read(record_path))
        if outcome.status == verdicts.NOT_RUN:
            pytest.skip(outcome.message)
        assert outcome.passed, f"{check_id}: {outcome.message}"
        return outcome

    return judge


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
    settings, run = _resolved(request.config)
    record.put_resources(_record_path(request.config), settings, Path(request.node.path).name, sampler.summary(), run=run)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A project error (offline handle, bad input file) is reported as its one line, not a traceback."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and report.failed:
        from homework.errors import HomeworkError

        if isinstance(call.excinfo.value, HomeworkError):
            report.longrepr = f"hw5: {type(call.excinfo.value).__name__}: {call.excinfo.value}"
