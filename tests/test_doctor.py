"""`hw5 doctor` on faked machines (a root folder with the files a Jetson has, a faked TensorFlow
probe and package list), and hw5 in a Python where TensorFlow cannot be imported."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from homework import doctor
from homework.doctor import Host, TensorFlowProbe

ROOT = Path(__file__).resolve().parent.parent
NVIDIA_TF = TensorFlowProbe(installed=True, importable=True, version="2.16.1+nv24.08", cuda_build=True,
                            gpus=("/physical_device:GPU:0",), keras="3.3.3")


def machine(tmp_path, model=None, release=None, nodes=(), memory_mb=6000, python="3.8.10", arch="aarch64",
            tensorflow=TensorFlowProbe(installed=False), packages=None, smi=None) -> Host:
    """A fake machine: /proc/device-tree/model, /etc/nv_tegra_release, /dev/nvhost-*, /proc/meminfo."""
    root = tmp_path / "root"
    for relative, text in {"proc/device-tree/model": model and model + "\x00", "etc/nv_tegra_release": release,
                           "proc/meminfo": f"MemTotal: 7000000 kB\nMemAvailable: {memory_mb * 1024} kB\n",
                           **{f"dev/{node}": "" for node in nodes}}.items():
        if text is not None:
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text)
    packages = {"pip": "22.0.2", **(packages or {})}
    return Host(root=root, machine=arch, python=python, run=lambda command, timeout=5: smi if command[0] == "nvidia-smi" else None,
                which=lambda name: None, probe_tensorflow=lambda: tensorflow, installed=packages.get, disk_free_mb=lambda: 50_000)


def diagnose(host):
    findings = doctor.examine(host)
    text = doctor.render(findings)
    status = 1 if any(f.state in doctor.PROBLEMS for f in findings) else 0
    return {f.item: f for f in findings}, text, status


def test_jetpack5_xavier_nx_without_tensorflow(tmp_path):
    host = machine(tmp_path, model="NVIDIA Jetson Xavier NX Developer Kit", nodes=("nvhost-ctrl-gpu",),
                   release="# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023",
                   packages={"pip": "20.0.2"})
    found, text, status = diagnose(host)
    assert status == 1
    assert found["JetPack"].state == "ok" and "5.1.2" in found["JetPack"].detail and "Xavier NX" in found["machine"].detail
    assert found["TensorFlow"].state == "missing" and found["TensorFlow"].fix == (
        "python3 -m pip install --extra-index-url https://developer.download.nvidia.com/compute/redist/jp/v512 tensorflow==2.12.0+nv23.06")
    assert found["tensorflow-hub"].fix == "python3 -m pip install --no-deps 'tensorflow-hub==0.12.0'"
    assert found["pip"].state == "warn" and "pip>=21.3" in found["pip"].fix
    assert found["GPU"].state == "info" and "nvhost" in found["GPU"].detail
    assert "docker build -f docker/Dockerfile.jetson -t hw5:jetson ." in text
    fixes = text.split("To fix")[1]  # pip first: the old one cannot install hw5 from the checkout
    assert fixes.index("pip>=21.3") < fixes.index("tensorflow==2.12.0+nv23.06") < fixes.index("tensorflow-hub==0.12.0")


def test_jetpack6_0_orin_with_pypis_cpu_tensorflow(tmp_path):
    pypi = TensorFlowProbe(installed=True, importable=True, version="2.16.1", cuda_build=False, keras="3.3.3")
    host = machine(tmp_path, model="NVIDIA Jetson AGX Orin Developer Kit", python="3.10.12", nodes=("nvhost-ctrl-gpu", "nvhost-gpu"),
                   release="# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic, EABI: aarch64", tensorflow=pypi,
                   packages={"tensorflow": "2.16.1", "tf-keras": "2.16.0", "tensorflow-hub": "0.16.1"})
    found, text, status = diagnose(host)
    assert status == 1
    assert found["TensorFlow"].state == "wrong" and "not NVIDIA's build" in found["TensorFlow"].detail
    assert found["TensorFlow"].fix == ("python3 -m pip uninstall -y tensorflow && python3 -m pip install --extra-index-url "
                                       "https://developer.download.nvidia.com/compute/redist/jp/v60 tensorflow==2.15.0+nv24.05")
    assert found["GPU"].state == "wrong"
    assert text.count("tensorflow==2.15.0+nv24.05") == 1  # one fix for both findings
    assert "--build-arg L4T_TAG=r36.3.0" in found["container"].detail


def test_jetpack6_1_with_nvidias_tensorflow_but_no_tf_keras(tmp_path):
    host = machine(tmp_path, model="NVIDIA Jetson Orin Nano Developer Kit", python="3.10.12", nodes=("nvhost-gpu",),
                   release="# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64", tensorflow=NVIDIA_TF,
                   packages={"tensorflow": "2.16.1+nv24.08", "tensorflow-hub": "0.16.1"})
    found, _, status = diagnose(host)
    assert status == 1 and [f.item for f in found.values() if f.state in doctor.PROBLEMS] == ["tf_keras"]
    assert found["tf_keras"].fix == "python3 -m pip install --no-deps 'tf-keras~=2.16.0'"
    assert found["TensorFlow"].state == "ok" and "NVIDIA's build" in found["TensorFlow"].detail
    assert found["GPU"].state == "ok" and "GPU:0" in found["GPU"].detail
    assert "table row r36.4.0" in found["JetPack"].detail

    found, text, status = diagnose(machine(tmp_path / "fixed", model="NVIDIA Jetson Orin Nano Developer Kit", python="3.10.12",
                                           release="# R36 (release), REVISION: 4.3", tensorflow=NVIDIA_TF, nodes=("nvhost-gpu",),
                                           packages={"tensorflow-hub": "0.16.1", "tf-keras": "2.16.0"}))
    assert status == 0 and "everything hw5 needs is here" in text and "To fix" not in text


def test_x86_pc_whose_tensorflow_has_no_cuda_for_its_gpu(tmp_path):
    cpu_only = TensorFlowProbe(installed=True, importable=True, version="2.21.0", cuda_build=False, keras="3.15.1")
    host = machine(tmp_path, arch="x86_64", python="3.11.7", tensorflow=cpu_only, smi="GPU 0: NVIDIA GeForce RTX 2080 (UUID: GPU-1)",
                   packages={"tensorflow": "2.21.0", "tf-keras": "2.21.0", "tensorflow-hub": "0.16.1"})
    found, text, status = diagnose(host)
    assert status == 1 and found["GPU"].state == "wrong" and "RTX 2080" in found["GPU"].detail
    assert found["GPU"].fix.startswith("python3 -m pip install -e '.[gpu]'") and "and-cuda" in found["GPU"].fix
    assert "JetPack" not in found and "container" not in found


def test_laptop_without_gpu_is_fine_and_skips_the_gpu_steps(tmp_path):
    cpu_only = TensorFlowProbe(installed=True, importable=True, version="2.21.0", keras="3.15.1")
    host = machine(tmp_path, arch="x86_64", python="3.12.1", tensorflow=cpu_only, packages={"tf-keras": "2.21.0", "tensorflow-hub": "0.16.1"})
    found, text, status = diagnose(host)
    assert status == 0 and "GPU steps will be skipped" in found["GPU"].detail and "To fix" not in text


def test_jetpack4_is_unsupported_and_says_why(tmp_path):
    host = machine(tmp_path, model="NVIDIA Jetson TX2", python="3.6.9", release="# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t186ref")
    found, text, status = diagnose(host)
    assert status == 1 and found["JetPack"].state == "unsupported"
    assert "Python 3.6" in found["JetPack"].detail and "3.8" in found["JetPack"].detail
    assert "TensorFlow" not in found  # no install command leads anywhere on that board


def test_a_jetpack_the_table_does_not_know_gets_no_pypi_advice(tmp_path):
    host = machine(tmp_path, model="NVIDIA Jetson AGX Thor Developer Kit", python="3.12.3", release="# R38 (release), REVISION: 2.0")
    found, _, status = diagnose(host)
    assert status == 1 and found["JetPack"].state == "warn" and "not in hw5's table" in found["JetPack"].detail
    assert found["TensorFlow"].state == "missing" and found["TensorFlow"].fix == ""


def test_low_memory_is_a_warning_not_a_failure(tmp_path):
    host = machine(tmp_path, arch="x86_64", memory_mb=900, tensorflow=TensorFlowProbe(installed=True, importable=True, version="2.15.1", keras="2.15.0"),
                   packages={"tensorflow-hub": "0.16.1"})
    found, _, status = diagnose(host)
    assert found["memory"].state == "warn" and status == 0


def test_the_probe_reads_this_pythons_tensorflow():
    pytest.importorskip("tensorflow")
    probe = doctor.probe_tensorflow()
    assert probe.installed and probe.importable and probe.version and probe.keras[:1].isdigit(), probe


# --- hw5 where `import tensorflow` fails ----------------------------------------------------------

BLOCKER = textwrap.dedent('''
    import sys

    class NoTensorFlow:
        """Refuses TensorFlow and its companions, as if they were not installed."""
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"tensorflow", "tensorflow_hub", "tf_keras"}:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoTensorFlow())
''')


@pytest.fixture
def without_tensorflow(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "HW5_CACHE_DIR": str(tmp_path / "cache")}

    def hw5(*args):
        return subprocess.run([sys.executable, "-m", "homework.cli", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert hw5("--help").returncode == 0
    return hw5


@pytest.mark.parametrize("args", [["run"], ["data"], ["retrain", "--image_dir", "flowers"],
                                  ["label-image", "--graph", "g.pb", "--labels", "l.txt", "--image", "i.jpg"]], ids=lambda a: a[0])
def test_commands_that_need_tensorflow_say_so_in_one_line(without_tensorflow, args):
    done = without_tensorflow(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("hw5: error: TensorFlow is not installed") and "hw5 doctor" in done.stderr


def test_doctor_runs_without_tensorflow_and_names_the_install(without_tensorflow):
    done = without_tensorflow("doctor")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "MISSING      TensorFlow" in done.stdout and "pip install" in done.stdout


def test_doctor_needs_only_the_standard_library(tmp_path):
    """python3 -m homework.doctor on a fresh board: no TensorFlow, no PyYAML, no psutil, nothing installed."""
    (tmp_path / "sitecustomize.py").write_text(BLOCKER.replace('{"tensorflow", "tensorflow_hub", "tf_keras"}',
                                                               '{"tensorflow", "tensorflow_hub", "tf_keras", "yaml", "psutil", "numpy", "jinja2"}'))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "homework.doctor"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "MISSING      TensorFlow" in done.stdout, done.stderr


def test_an_import_error_inside_tensorflow_is_one_line_at_the_cli(monkeypatch, capsys):
    from homework import cli

    def fails(args):
        raise ImportError("libcudnn.so.8: cannot open shared object file: No such file or directory", name="tensorflow.python.pywrap_tensorflow")

    monkeypatch.setattr(cli, "cmd_report", fails)
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["report"].set_defaults(func=fails)
    assert cli.main(["report"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TensorFlow does not import (libcudnn.so.8" in err and "hw5 doctor" in err


def test_other_import_errors_still_raise():
    assert doctor.tensorflow_import_error(ImportError("No module named 'yaml'", name="yaml")) is None
