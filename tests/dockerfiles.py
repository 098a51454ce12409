"""Reads docker/Dockerfile.*: ARG defaults, the FROM image, ENV, VOLUME, EXPOSE and the pip steps of
its RUN lines. tests/test_docker.py checks them against homework/platforms.py; .ci/run replays the
pip steps in a venv with the base image's Python and pip:

    python tests/dockerfiles.py run-pip-steps docker/Dockerfile.jetson --python VENV/bin/python --project COPY
"""
from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional

ROOT = Path(__file__).resolve().parent.parent
NVIDIA_INDEX = "https://developer.download.nvidia.com/compute/redist/jp/"  # homework.platforms.NVIDIA_INDEX, without importing it


@dataclass
class Dockerfile:
    path: Path
    args: Dict[str, str] = field(default_factory=dict)  # ARG defaults ("" when none)
    base_template: str = ""  # the FROM image as written (${L4T_TAG} ...)
    base: str = ""  # the FROM image, build args at their defaults
    env: Dict[str, str] = field(default_factory=dict)
    runs: List[str] = field(default_factory=list)  # RUN commands, continuation lines joined
    volumes: List[str] = field(default_factory=list)
    exposed: List[str] = field(default_factory=list)
    project: str = ""  # where `COPY . <dir>` puts the checkout

    def expand(self, text: str, overrides: Optional[Mapping[str, str]] = None) -> str:
        """${NAME} and $NAME replaced by the build arg's default (or the override)."""
        values = {**self.args, **(overrides or {})}
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m.group(1) or m.group(2), m.group(0)), text)

    def pip_steps(self, overrides: Optional[Mapping[str, str]] = None) -> List[List[str]]:
        """Every `pip install` the RUN lines make, as argument lists with the build args filled in."""
        steps = []
        for run in self.runs:
            for command in re.split(r"&&|;", run):
                words = shlex.split(self.expand(command, overrides))
                if pip_arguments(words)[:1] == ["install"]:
                    steps.append(words)
        return steps


def pip_arguments(words: List[str]) -> List[str]:
    """What comes after `pip`, `pip3` or `python3 -m pip` ([] for another command)."""
    if words[:1] in (["pip"], ["pip3"]):
        return words[1:]
    return words[3:] if words[1:3] == ["-m", "pip"] else []


def instructions(text: str) -> List[tuple]:
    """(INSTRUCTION, rest) pairs: comment lines dropped, backslash continuations joined."""
    found, pending = [], ""
    for line in text.splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, rest = pending.strip().partition(" ")
        found.append((word.upper(), " ".join(rest.split())))
        pending = ""
    return found


def read(path) -> Dockerfile:
    dockerfile = Dockerfile(Path(path))
    for word, rest in instructions(Path(path).read_text()):
        if word == "ARG":
            name, _, default = rest.partition("=")
            dockerfile.args[name] = shlex.split(default)[0] if default else ""
        elif word == "FROM":
            dockerfile.base_template = rest.split()[0]
            dockerfile.base = dockerfile.expand(dockerfile.base_template)
        elif word == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                dockerfile.env[name] = dockerfile.expand(value)
        elif word == "RUN":
            dockerfile.runs.append(rest)
        elif word == "VOLUME":
            dockerfile.volumes += re.findall(r'"([^"]+)"', rest) or rest.split()
        elif word == "EXPOSE":
            dockerfile.exposed += rest.split()
        elif word == "COPY" and rest.split()[:1] == ["."]:
            dockerfile.project = rest.split()[1]
    return dockerfile


def nvidia_only(step: List[str]) -> bool:
    """A step that installs a wheel from NVIDIA's Jetson index (aarch64 only, nothing to run here)."""
    return any(word.startswith(NVIDIA_INDEX) for word in step)


REPLAY_DROPS = {"--no-cache-dir"}  # an image keeps no pip cache; a rerun here may use one


def run_pip_steps(dockerfile: Dockerfile, python: str, project: str) -> int:
    """Replays the Dockerfile's pip steps with `python` (a venv's): `python3 -m pip` and `pip3` become
    `python -m pip -q`, the checkout's folder in the image becomes `project`, NVIDIA-only steps are skipped."""
    for step in dockerfile.pip_steps():
        shown = " ".join(shlex.quote(w) for w in step)
        if nvidia_only(step):
            print(f"skipped (NVIDIA's wheel, aarch64 only): {shown}", flush=True)
            continue
        arguments = [project if w == dockerfile.project else w for w in pip_arguments(step) if w not in REPLAY_DROPS]
        print(f"$ {shown}", flush=True)
        if subprocess.run([python, "-m", "pip", "-q"] + arguments).returncode != 0:
            print(f"FAILED: {shown}", file=sys.stderr)
            return 1
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    replay = sub.add_parser("run-pip-steps", help="run a Dockerfile's pip steps with another Python")
    replay.add_argument("dockerfile")
    replay.add_argument("--python", required=True, help="the Python whose pip runs the steps (a venv's)")
    replay.add_argument("--project", required=True, help="a clean copy of the checkout, for the image's COPY destination")
    args = parser.parse_args(argv)
    return run_pip_steps(read(args.dockerfile), args.python, args.project)


if __name__ == "__main__":
    sys.exit(main())
