"""Which TensorFlow goes with which Jetson release: one table, read by `hw5 doctor`, the
Dockerfiles' tests and docs/jetson.md. Pure data and lookups; nothing here imports TensorFlow.

Where each fact comes from (`unconfirmed` names the fields no NVIDIA source confirmed):
- JetPack <-> L4T: jetson-containers (dusty-nv, NVIDIA), jetson_containers/l4t_version.py.
- JetPack 4 / 5.0 / 5.1 wheels and the l4t-tensorflow tags: NVIDIA's own build script for those
  images, jetson-containers scripts/docker_build_ml.sh (commits e8a04010, 13b3a281 for R35.3.1),
  and its README's list of nvcr.io/nvidia/l4t-tensorflow tags (r35.1.0-tf2.9-py3, r35.2.1-tf2.11-py3).
- "L4T R35.x containers can run on other versions of L4T R35.x": jetson-containers,
  packages/ml/l4t/l4t-tensorflow/README.md.
- jp/v60 with tensorflow==2.15.0+nv24.05 on L4T r36.3: NVIDIA's Sionna Research Kit quickstart
  (NVlabs/sionna-rk).
- nvcr.io/nvidia/l4t-jetpack:r36.4.0: jetson-containers packages/vlm/vila-microservice/Dockerfile.
- CUDA 12.2 on r36.2 and 12.6 on r36.4: jetson-containers, get_cuda_version().
- pip of the images' python3: Ubuntu's python3-pip (20.04: 20.0.2, 22.04: 22.0.2); NVIDIA's
  l4t-tensorflow Dockerfile installs it from apt and never upgrades it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

NVIDIA_INDEX = "https://developer.download.nvidia.com/compute/redist/jp/"


@dataclass(frozen=True)
class Release:
    jetpack: str  # "5.1.2"
    l4t: str  # "35.4.1": /etc/nv_tegra_release says "# R35 (release), REVISION: 4.1"
    python: str  # the system Python NVIDIA builds its wheels for (cp38, cp310)
    cuda: str
    index: str  # NVIDIA's wheel index for this JetPack (pip --extra-index-url)
    tensorflow: str  # NVIDIA's TensorFlow wheel on that index
    keras_major: int  # the Keras that tf.keras is in that TensorFlow
    needs_tf_keras: bool  # TF Hub layers need Keras 2: with Keras 3 as tf.keras, the tf_keras package
    image: str = ""  # base image of hw5's container for this release ("" = none)
    image_tensorflow: str = ""  # TensorFlow in the container (JetPack 5: the base image's own)
    image_pip: str = ""  # pip of the base image's python3
    dockerfile: str = ""
    hub: str = ""  # tensorflow-hub pinned (installed without dependencies)
    tf_keras: str = ""  # tf-keras pinned in the container ("" = none)
    unsupported: str = ""  # why hw5 cannot run there ("" = it can)
    note: str = ""
    unconfirmed: Tuple[str, ...] = ()  # fields no NVIDIA source confirmed

    @property
    def version(self) -> Tuple[int, ...]:
        return version_tuple(self.l4t)

    @property
    def image_tag(self) -> str:
        return self.image.rpartition(":")[2] if self.image else ""


def version_tuple(text: str) -> Tuple[int, ...]:
    """'35.4.1' -> (35, 4, 1); '2.16.1+nv24.08' -> (2, 16, 1); 'r36.4.0' -> (36, 4, 0)."""
    numbers = re.match(r"r?(\d+(?:\.\d+)*)", text.strip())
    return tuple(int(n) for n in numbers.group(1).split(".")) if numbers else ()


def _jp5(jetpack, l4t, index, tensorflow, image, image_tensorflow="2.11.0+nv23.03", **extra) -> Release:
    return Release(jetpack, l4t, python="3.8", cuda="11.4", index=NVIDIA_INDEX + index, tensorflow=tensorflow,
                   keras_major=2, needs_tf_keras=False, image="nvcr.io/nvidia/l4t-tensorflow:" + image,
                   image_tensorflow=image_tensorflow, image_pip="20.0.2", dockerfile="docker/Dockerfile.jetson",
                   hub="0.12.0", **extra)


def _jp6(jetpack, l4t, cuda, index, tensorflow, keras_major, needs_tf_keras, tf_keras, **extra) -> Release:
    return Release(jetpack, l4t, python="3.10", cuda=cuda, index=NVIDIA_INDEX + index, tensorflow=tensorflow,
                   keras_major=keras_major, needs_tf_keras=needs_tf_keras, image="nvcr.io/nvidia/l4t-jetpack:r" + l4t,
                   image_tensorflow=tensorflow, image_pip="22.0.2", dockerfile="docker/Dockerfile.jetpack6",
                   hub="0.16.1", tf_keras=tf_keras, **extra)


def keras_major_of(tensorflow: str) -> int:
    """TensorFlow 2.16 made Keras 3 its tf.keras; before, tf.keras was Keras 2."""
    return 3 if version_tuple(tensorflow)[:2] >= (2, 16) else 2


RELEASES: Tuple[Release, ...] = (
    Release("4.6", "32.7.1", python="3.6", cuda="10.2", index=NVIDIA_INDEX + "v461", tensorflow="2.7.0+nv22.1",
            keras_major=2, needs_tf_keras=False,
            unsupported="JetPack 4 (L4T r32: TX1, TX2, Nano) has Python 3.6 and NVIDIA's TensorFlow for it is built "
                        "for 3.6 only; hw5 needs Python 3.8+, and these boards get no JetPack 5: run hw5 on a PC or "
                        "a JetPack 5/6 board"),
    Release("5.0 DP", "34.1.1", python="3.8", cuda="11.4", index=NVIDIA_INDEX + "v50", tensorflow="2.8.0+nv22.4",
            keras_major=2, needs_tf_keras=False,
            unsupported="JetPack 5.0 is a developer preview (L4T r34, TensorFlow 2.8): flash JetPack 5.1.x (L4T r35)"),
    _jp5("5.0.2", "35.1.0", "v50", "2.9.1+nv22.06", "r35.1.0-tf2.9-py3", image_tensorflow="2.9.1+nv22.06",
         note="TensorFlow 2.9 is older than hw5 is tested with (2.11-2.15); JetPack 5.1.x is the safer base"),
    _jp5("5.1", "35.2.1", "v51", "2.11.0+nv23.03", "r35.2.1-tf2.11-py3"),
    _jp5("5.1.1", "35.3.1", "v511", "2.12.0+nv23.05", "r35.3.1-tf2.11-py3", unconfirmed=("index", "tensorflow")),
    _jp5("5.1.2", "35.4.1", "v512", "2.12.0+nv23.06", "r35.3.1-tf2.11-py3", unconfirmed=("index", "tensorflow"),
         note="no l4t-tensorflow image for r35.4.1 was confirmed: the container starts from r35.3.1's "
              "(an L4T r35.x image runs on any r35.x board)"),
    _jp6("6.0 DP", "36.2.0", "12.2", "v60", "2.15.0+nv24.05", 2, False, tf_keras="2.15.0", unconfirmed=("index", "tensorflow"),
         note="jp/v60 was published for JetPack 6.0 GA (r36.3), with the same CUDA 12.2 as the developer preview"),
    _jp6("6.0", "36.3.0", "12.2", "v60", "2.15.0+nv24.05", 2, False, tf_keras="2.15.0", unconfirmed=("cuda",)),
    _jp6("6.1", "36.4.0", "12.6", "v61", "2.16.1+nv24.08", 3, True, tf_keras="2.16.0", unconfirmed=("tensorflow",),
         note="also JetPack 6.1.1 and 6.2.x (L4T r36.4.x: the same CUDA 12.6)"),
)
DEFAULT_FOR_DOCKERFILE = {"docker/Dockerfile.jetson": "35.4.1", "docker/Dockerfile.jetpack6": "36.4.0"}


def parse_nv_tegra_release(text: str) -> Optional[str]:
    """'# R35 (release), REVISION: 4.1, GCID: ...' -> '35.4.1'; None when it says no release."""
    match = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*(\d+)(?:\.(\d+))?", text or "")
    if not match:
        return None
    major, minor, patch = match.group(1), match.group(2), match.group(3) or "0"
    return f"{major}.{minor}.{patch}"


def for_l4t(l4t: str) -> Optional[Release]:
    """The row for an L4T release: the same major.minor (r36.4.3 -> r36.4.0), else the newest
    older row of the same major (r35.6.0 -> r35.4.1: a later JetPack 5 point release keeps
    CUDA 11.4 and Python 3.8), else the oldest of that major (r32.5 -> the JetPack 4 row).
    None for a release line the table does not know (r38: JetPack 7)."""
    wanted = version_tuple(l4t)
    same_major = sorted((r for r in RELEASES if wanted and r.version[0] == wanted[0]), key=lambda r: r.version)
    older = [r for r in same_major if r.version[:2] <= wanted[:2]]
    return (older or same_major or [None])[-1 if older else 0]


def for_image(image: str) -> Tuple[Release, ...]:
    """The rows whose container starts from this image."""
    return tuple(r for r in RELEASES if r.image == image)


def default_for(dockerfile: str) -> Release:
    """The row a Dockerfile's build-arg defaults are for."""
    return next(r for r in RELEASES if r.l4t == DEFAULT_FOR_DOCKERFILE[dockerfile])


def pip_install_tensorflow(release: Release) -> str:
    """NVIDIA's command for its TensorFlow wheel on this JetPack."""
    return f"python3 -m pip install --extra-index-url {release.index} tensorflow=={release.tensorflow}"


def docker_build_command(release: Release) -> str:
    """The `docker build` of hw5's container for this release (build args that differ from the defaults)."""
    if not release.dockerfile:
        return ""
    default = default_for(release.dockerfile)
    name = "jetpack6" if release.dockerfile.endswith("jetpack6") else "jetson"
    args = [("L4T_TAG", release.image_tag, default.image_tag)]
    if release.dockerfile.endswith("jetpack6"):
        args += [("JP_INDEX", release.index, default.index), ("TF_VERSION", release.tensorflow, default.tensorflow),
                 ("TF_KERAS_VERSION", release.tf_keras, default.tf_keras)]
    given = "".join(f" --build-arg {name_}={value}" for name_, value, usual in args if value != usual)
    return f"docker build -f {release.dockerfile}{given} -t hw5:{name} ."


def markdown_table() -> str:
    """The table for docs/jetson.md; an unconfirmed value carries a '?', indexes are named under NVIDIA_INDEX."""
    def cell(release: Release, field: str, text: str) -> str:
        return f"{text} ?" if field in release.unconfirmed and text else (text or "-")

    lines = ["| JetPack | L4T | Python | CUDA | wheel index | NVIDIA's TensorFlow | Keras | tf_keras | container base image |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in RELEASES:
        base = f"`{r.image}` (TF {r.image_tensorflow})" if r.image else "none: hw5 does not run there"
        lines.append(f"| {r.jetpack} | r{r.l4t} | {r.python} | {cell(r, 'cuda', r.cuda)} | {cell(r, 'index', 'jp/' + r.index[len(NVIDIA_INDEX):])} | "
                     f"{cell(r, 'tensorflow', r.tensorflow)} | {r.keras_major} | {'needed' if r.needs_tf_keras else 'no'} | {base} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
