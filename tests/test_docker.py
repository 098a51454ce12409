"""The Dockerfiles and docs/containers.md against homework/platforms.py (no Docker engine here: the
files are read, not built), and docker/entrypoint.sh run as a user the image does not know."""
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

import dockerfiles
from homework import platforms

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILES = sorted((ROOT / "docker").glob("Dockerfile.*"))
JETSON = {"docker/Dockerfile.jetson", "docker/Dockerfile.jetpack6"}
CONTAINERS_DOC = ROOT / "docs" / "containers.md"
KEPT = ("/cache", "/hw5/results", "/hw5/.benchmarks", "/hw5/answers")  # what a run keeps on volumes


def doc_commands(program: str):
    """Every `docker build` / `docker run` in docs/containers.md's code blocks, continuation lines joined."""
    lines = [line.strip() for line in CONTAINERS_DOC.read_text().splitlines() if line.startswith("    ")]
    commands, pending = [], ""
    for line in lines:
        pending += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.append(" ".join(pending.split()))
            pending = ""
    return [c for c in commands if c.startswith(f"docker {program} ")]


def test_the_jetson_dockerfiles_defaults_are_a_row_of_the_table():
    jetson = dockerfiles.read(ROOT / "docker/Dockerfile.jetson")
    row = platforms.default_for("docker/Dockerfile.jetson")
    assert jetson.base == row.image and row in platforms.for_image(jetson.base)
    assert jetson.args["HUB_VERSION"] == row.hub

    jetpack6 = dockerfiles.read(ROOT / "docker/Dockerfile.jetpack6")
    row = platforms.default_for("docker/Dockerfile.jetpack6")
    assert jetpack6.base == row.image
    assert (jetpack6.args["JP_INDEX"], jetpack6.args["TF_VERSION"]) == (row.index, row.tensorflow)
    assert (jetpack6.args["TF_KERAS_VERSION"], jetpack6.args["HUB_VERSION"]) == (row.tf_keras, row.hub)


@pytest.mark.parametrize("release", [r for r in platforms.RELEASES if r.dockerfile], ids=lambda r: r.l4t)
def test_each_jetpacks_build_args_give_its_pairing_in_the_pip_steps(release):
    """The Dockerfile with the build args of docker_build_command installs exactly the row's
    TensorFlow from the row's index, its tf-keras and tensorflow-hub, on the row's image."""
    command = shlex.split(platforms.docker_build_command(release))
    given = dict(command[i + 1].split("=", 1) for i, word in enumerate(command) if word == "--build-arg")
    dockerfile = dockerfiles.read(ROOT / release.dockerfile)
    assert dockerfile.expand(dockerfile.base_template, given) == release.image
    installed = [word for step in dockerfile.pip_steps(given) for word in step]
    assert f"tensorflow-hub=={release.hub}" in installed
    if release.dockerfile.endswith("jetpack6"):
        step = next(s for s in dockerfile.pip_steps(given) if dockerfiles.nvidia_only(s))
        assert f"tensorflow=={release.tensorflow}" in step and release.index in step
        assert f"tf-keras=={release.tf_keras}" in installed
    else:  # TensorFlow is the base image's: no step may install another
        assert not any(w.startswith(("tensorflow==", "tensorflow>", "tf-keras", "keras")) for w in installed)


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_every_image_keeps_its_caches_on_the_volume_and_serves_any_user(path):
    dockerfile = dockerfiles.read(path)
    for name in ("HOME", "KERAS_HOME", "TFHUB_CACHE_DIR", "HW5_CACHE_DIR"):  # Keras 2 downloads to ~/.keras, whatever KERAS_HOME says
        assert dockerfile.env.get(name, "").startswith("/cache/"), f"{path.name}: {name} is not under /cache"
    assert dockerfile.env["KERAS_HOME"] == dockerfile.env["HOME"] + "/.keras"
    assert set(KEPT) <= set(dockerfile.volumes) and "6006" in dockerfile.exposed
    made_writable = " ".join(run for run in dockerfile.runs if "chmod 1777" in run)
    for folder in ("/cache", dockerfile.env["HOME"], dockerfile.env["TFHUB_CACHE_DIR"], dockerfile.env["HW5_CACHE_DIR"], "/hw5", *KEPT[1:]):
        assert re.search(rf"chmod 1777 .*{re.escape(folder)}( |$)", made_writable), f"{path.name}: {folder} is not writable by every uid"
    assert "ENTRYPOINT [\"/hw5/docker/entrypoint.sh\"]" in path.read_text()


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_no_image_installs_hw5_in_editable_mode(path):
    """Ubuntu 20.04's pip 20.0.2 cannot (no setup.py); a plain install is what every image does."""
    project_steps = [s for s in dockerfiles.read(path).pip_steps() if "/hw5" in s]
    assert project_steps and not any("-e" in step or "--editable" in step for step in project_steps)


def test_the_jetpack5_image_upgrades_pip_before_installing_hw5():
    steps = dockerfiles.read(ROOT / "docker/Dockerfile.jetson").pip_steps()
    upgrade = next(i for i, s in enumerate(steps) if "--upgrade" in s and any(w.startswith("pip>=") for w in s))
    assert upgrade < next(i for i, s in enumerate(steps) if "/hw5" in s)


def test_every_documented_build_is_the_tables_and_every_jetpack_has_one():
    builds = set(doc_commands("build"))
    expected = {platforms.docker_build_command(r) for r in platforms.RELEASES if r.dockerfile}
    assert expected <= builds, f"docs/containers.md lacks: {sorted(expected - builds)}"
    for command in builds - expected:
        assert "--build-arg" not in command, f"docs/containers.md: {command} is not in homework/platforms.py's table"


def test_every_documented_run_keeps_its_files_runs_as_you_and_publishes_tensorboard():
    runs = doc_commands("run")
    built = {shlex.split(c)[-2] for c in doc_commands("build")}
    assert len(runs) >= 8
    for command in runs:
        words = shlex.split(command)
        assert "-p" in words and words[words.index("-p") + 1] == "6006:6006", command
        assert "--user" in words and words[words.index("--user") + 1] == "$(id -u):$(id -g)", command
        mounts = {words[i + 1].rsplit(":", 1)[1]: words[i + 1].rsplit(":", 1)[0] for i, w in enumerate(words) if w == "-v"}
        assert set(KEPT) <= set(mounts), f"{command}: mounts {sorted(mounts)}"
        image = next(w for w in words if w.startswith("hw5:"))
        assert image in built, f"{command}: {image} is never built on the page"
        if image.startswith(("hw5:jetson", "hw5:jetpack6")):
            assert "--runtime" in words and "--group-add" in words, command
    assert any("--profile real" in c for c in runs), "docs/containers.md shows no real-profile run"
    assert any("tensorboard --logdir" in c for c in runs)


def test_entrypoint_makes_a_home_for_an_unknown_user_and_refuses_an_unwritable_cache(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(cache / "home"), "KERAS_HOME": str(cache / "home/.keras"),
           "TFHUB_CACHE_DIR": str(cache / "tfhub"), "HW5_CACHE_DIR": str(cache / "hw5")}
    entrypoint = str(ROOT / "docker" / "entrypoint.sh")
    done = subprocess.run([entrypoint, "sh", "-c", "echo ran as $(id -u)"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("ran as"), done.stderr
    assert (cache / "home/.keras").is_dir() and (cache / "tfhub").is_dir() and (cache / "hw5").is_dir()

    (tmp_path / "a-file").write_text("")  # a folder that cannot be made, even by root
    done = subprocess.run([entrypoint, "true"], env={**env, "HW5_CACHE_DIR": str(tmp_path / "a-file/hw5")}, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "not writable" in done.stderr
