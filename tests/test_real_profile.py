"""`hw5 run --profile real` rehearsed offline on small local inputs (tests/local_inputs.py), and
every setting followed from `hw5 run`'s command line, environment or YAML file to the checks
and the record."""
import dataclasses
import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from homework.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "probes" / "settings_probe.py"
NETWORK_FLAGS = ("flowers_dir", "mnist_path", "hub_module", "own_images_dir")


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).parent))
    import local_inputs

    return local_inputs.build(tmp_path_factory.mktemp("local"))


def hw5(args, cwd, env=None, timeout=600):
    done = subprocess.run([sys.executable, "-m", "homework.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=timeout)
    return done


def flag_values(tmp_path, local):
    """A value other than the default for every setting, as typed on the command line and as stored."""
    values = {"profile": "real", "cache_dir": str(tmp_path / "cache"), "results_dir": str(tmp_path / "out"),
              "device_label": "probe-device", "architecture": "mobilenet_0.25_128",
              **{name: str(local[name]) for name in NETWORK_FLAGS}}
    defaults = Settings.load({"profile": "real"}, env={})
    hints = typing.get_type_hints(Settings)
    for f in dataclasses.fields(Settings):
        if f.name in values:
            continue
        default, kind = getattr(defaults, f.name), hints[f.name]
        if typing.get_origin(kind) in (tuple, typing.Tuple):
            values[f.name] = "2,3" if typing.get_args(kind)[0] is int else "0.125,0.25"
        elif kind is int:
            values[f.name] = str(default + 3)
        elif kind is float:
            values[f.name] = str(default + 1.5)
        else:
            raise AssertionError(f"add a test value for setting {f.name} ({kind})")
    return values


def test_every_hw5_run_flag_reaches_the_checks_and_the_record(tmp_path, local):
    values = flag_values(tmp_path, local)
    args = ["run"] + [f"--{name.replace('_', '-')}={value}" for name, value in values.items()]
    done = hw5(args + ["--", str(PROBE), "-k", "settings_probe", "-q"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    record_path = tmp_path / "out" / "probe-device.json"  # --results-dir and --device-label place the record
    doc = json.loads(record_path.read_text())
    stored, sources = doc["provenance"]["settings"], doc["provenance"]["settings_sources"]
    seen = doc["tasks"]["settings_probe"]["provenance"]["seen_by_check"]
    expected = Settings.load({k: v for k, v in values.items()}, env={}).as_dict()
    for name in values:
        assert stored[name] == seen[name] == expected[name], name
        assert sources[name] == "command line", name
    assert doc["provenance"]["profile"] == "real" and doc["provenance"]["seed"] == int(values["seed"])
    assert (tmp_path / "out" / "report.md").is_file()  # the report moves with the record
    assert not (tmp_path / "answers").exists() and not (tmp_path / "results").exists()


def test_environment_and_yaml_reach_the_checks_and_each_run_is_fresh(tmp_path, local):
    config = tmp_path / "mine.yaml"
    config.write_text(f"training_steps: 17\nflowers_dir: {local['flowers_dir']}\n")
    env = {"HW5_SEED": "5", "HW5_MNIST_PATH": str(local["mnist_path"]), "HW5_HUB_MODULE": str(local["hub_module"]),
           "HW5_RESULTS_DIR": str(tmp_path / "res"), "HW5_CACHE_DIR": str(tmp_path / "cache")}
    common = ["run", "--profile", "real", "--device-label", "probe", "--config", str(config)]
    probe = ["--", str(PROBE), "-k", "settings_probe", "-q"]
    first = hw5(common + probe, cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    second = hw5(common + ["--seed", "9"] + probe, cwd=tmp_path, env=env)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    path = tmp_path / "res" / "probe.json"
    doc = json.loads(path.read_text())
    prov = doc["provenance"]
    assert prov["settings"]["training_steps"] == 17 and prov["settings_sources"]["training_steps"] == f"settings file {config}"
    assert prov["settings_sources"]["config"] == str(config)
    assert prov["settings"]["mnist_path"] == str(local["mnist_path"]) and prov["settings_sources"]["mnist_path"] == "environment (HW5_*)"
    assert doc["tasks"]["settings_probe"]["provenance"]["seen_by_check"]["training_steps"] == 17
    assert prov["seed"] == 9 and doc["tasks"]["settings_probe"]["metrics"]["seed"] == 9  # the second run's own provenance
    (earlier,) = doc["previous"]
    old = json.loads((path.parent / earlier["path"]).read_text())
    assert old["provenance"]["seed"] == 5 and old["tasks"]["settings_probe"]["metrics"]["seed"] == 5 and old["run_id"] != doc["run_id"]


def test_a_flag_after_the_double_dash_is_refused(tmp_path, local):
    done = hw5(["run", "--profile", "real", "--results-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c"),
                *[f"--{n.replace('_', '-')}={local[n]}" for n in NETWORK_FLAGS], "--", str(PROBE), "--profile", "embedded"], cwd=tmp_path)
    assert done.returncode != 0 and "--profile: set it on hw5 run (before --)" in done.stderr + done.stdout


@pytest.mark.slow
def test_real_profile_end_to_end_on_local_inputs(tmp_path, local):
    """Every check runs on real-format local inputs; nothing is a stand-in and nothing asks for the network.
    Sizes are tiny, so the checks that need the homework's sample sizes may fail: they must fail on
    their numbers, not on a missing input."""
    sizes = ["--mnist-epochs", "1", "--seeds", "0,1,2", "--l2-values", "0.0001", "--dropout-values", "0.2",
             "--transfer-image-size", "48", "--transfer-epochs", "1", "--training-steps", "30", "--own-images-per-class", "2,4"]
    inputs = [f"--{n.replace('_', '-')}={local[n]}" for n in NETWORK_FLAGS]
    done = hw5(["run", "--profile", "real", "--device-label", "rehearsal", "--results-dir", str(tmp_path / "results"),
                "--cache-dir", str(tmp_path / "cache"), *inputs, *sizes, "--", "-q", "--benchmark-disable"], cwd=tmp_path, timeout=900)
    output = done.stdout + done.stderr
    record = json.loads((tmp_path / "results" / "rehearsal.json").read_text())
    checks = json.loads((tmp_path / "results" / "rehearsal.checks.json").read_text())
    tasks = {"inputs", "mnist", "transfer", "retrain_learning_rates", "retrain_cpu_vs_gpu", "retrain_inception", "retrain_own_images"}
    assert tasks <= set(record["tasks"]), output[-3000:]
    assert record["provenance"]["profile"] == "real"
    assert not [name for name, task in record["tasks"].items() if task["stand_in"]]
    for module in record["tasks"]["inputs"]["provenance"]["modules"]:
        assert not module["stand_in"] and module["identity"] == f"local module: {local['hub_module']}"
    report = (tmp_path / "results" / "report.md").read_text()
    assert "stand-in" not in report.lower(), [line for line in report.splitlines() if "stand-in" in line.lower()][:5]
    from homework import verdicts

    assert [t["name"].split(":")[0] for t in checks["tests"]] == [f"check {c.id}" for c in verdicts.CHECKS]
    not_run = {t["name"].split(":")[0][len("check "):] for t in checks["tests"]
               if any(line.startswith("not run:") for line in t["output"].splitlines())}
    assert not_run <= {"retrain.cpu_vs_gpu"}, [t["output"] for t in checks["tests"] if "not run" in t["output"]]  # GPU-only
    offline = [t for t in checks["tests"] if any(w in t.get("output", "") for w in ("OfflineError", "cannot be reached", "download failed", "--own-images-dir"))]
    assert not offline, offline
    assert "Traceback" not in done.stderr
