"""The JetPack / L4T / TensorFlow table (homework/platforms.py): lookups and its own consistency."""
import dataclasses
import re
from pathlib import Path

import pytest

from homework import platforms
from homework.platforms import RELEASES, for_l4t, parse_nv_tegra_release


@pytest.mark.parametrize("text, release", [
    ("# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023", "35.4.1"),
    ("# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic, EABI: aarch64, DATE: Mon May  6 17:34:21 UTC 2024", "36.3.0"),
    ("# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t186ref, EABI: aarch64", "32.7.1"),
    ("", None),
    ("not a release file", None),
])
def test_nv_tegra_release_is_read(text, release):
    assert parse_nv_tegra_release(text) == release


@pytest.mark.parametrize("l4t, jetpack", [
    ("32.5.0", "4.6"), ("32.7.1", "4.6"), ("35.2.1", "5.1"), ("35.4.1", "5.1.2"), ("35.6.0", "5.1.2"),
    ("36.3.0", "6.0"), ("36.4.0", "6.1"), ("36.4.3", "6.1"),
])
def test_a_release_finds_its_row(l4t, jetpack):
    assert for_l4t(l4t).jetpack == jetpack


def test_a_release_line_the_table_does_not_know_has_no_row():
    assert for_l4t("38.2.0") is None and for_l4t("") is None


def test_jetpack_4_is_unsupported_for_its_python():
    jetpack4 = for_l4t("32.7.1")
    assert jetpack4.unsupported and "3.6" in jetpack4.unsupported and not jetpack4.image


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.l4t)
def test_each_row_agrees_with_itself(release):
    assert release.index.startswith(platforms.NVIDIA_INDEX)
    assert release.keras_major == platforms.keras_major_of(release.tensorflow)
    assert release.needs_tf_keras == (release.keras_major >= 3)
    assert set(release.unconfirmed) <= {f.name for f in dataclasses.fields(release)}
    if release.unsupported:
        return
    assert release.image and release.dockerfile and release.hub and release.image_pip
    assert platforms.keras_major_of(release.image_tensorflow) == release.keras_major
    assert platforms.version_tuple(release.python) >= (3, 8)
    if release.tf_keras:  # tf-keras X.Y goes with TensorFlow X.Y
        assert platforms.version_tuple(release.tf_keras)[:2] == platforms.version_tuple(release.tensorflow)[:2]
    assert not release.needs_tf_keras or release.tf_keras


def test_install_command_names_the_index_and_the_wheel():
    assert platforms.pip_install_tensorflow(for_l4t("35.4.1")) == (
        "python3 -m pip install --extra-index-url https://developer.download.nvidia.com/compute/redist/jp/v512 tensorflow==2.12.0+nv23.06")


def test_markdown_table_has_a_line_per_release_and_marks_unconfirmed_values():
    table = platforms.markdown_table().splitlines()
    assert len(table) == 2 + len(RELEASES)
    assert "2.16.1+nv24.08 ?" in platforms.markdown_table()


def test_docs_jetson_carries_the_table_and_only_its_commands():
    text = (Path(__file__).resolve().parent.parent / "docs" / "jetson.md").read_text()
    assert platforms.markdown_table() in text, "docs/jetson.md: paste python -m homework.platforms's table"
    supported = [r for r in RELEASES if not r.unsupported]
    commands = re.findall(r"python3 -m pip install --extra-index-url \S+ tensorflow==\S+", text)
    assert commands and set(commands) <= {platforms.pip_install_tensorflow(r) for r in supported}
    for package, version in re.findall(r"'(tensorflow-hub|tf-keras)==([^']+)'", text):
        assert version in {r.hub if package == "tensorflow-hub" else r.tf_keras for r in supported}, (package, version)
    builds = re.findall(r"docker build .+ \.$", text, re.MULTILINE)
    assert builds and {b.strip() for b in builds} <= {platforms.docker_build_command(r) for r in supported}
