"""Architecture -> everything the homework needs to know about it, in one record.

Two interfaces per architecture: the TF2 feature-vector module (TF Hub handle, input in
[0, 1]) used by the TF2 task and by `hw5 retrain` by default, and the TF1 codelab's frozen
graph (input tensor `input` or `Mul`, normalised with mean/std) that `--model_dir` can
point at and that the exported retrained graph reproduces.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..errors import HomeworkError

MOBILENET_VERSIONS = ("1.0", "0.75", "0.50", "0.25")
MOBILENET_SIZES = (224, 192, 160, 128)
TF_MODELS_URL = "https://storage.googleapis.com/download.tensorflow.org/models"
ARCHITECTURE_HELP = "mobilenet_<1.0|0.75|0.50|0.25>_<224|192|160|128>, inception_v3 or mobilenet_v2_1.00_224"


@dataclass(frozen=True)
class CodelabGraph:
    """The TF1 codelab's downloadable frozen graph for this architecture."""

    archive: str
    url: str  # where the codelab's retrain.py downloads it (its http://download.tensorflow.org/... over https)
    graph_file: str  # path inside the extracted archive
    input_tensor: str
    bottleneck_tensor: str
    bottleneck_size: int


@dataclass(frozen=True)
class Architecture:
    name: str
    family: str  # mobilenet_v1 | mobilenet_v2 | inception_v3
    width: float  # MobileNet width multiplier (1.0 for Inception)
    hub_handle: str  # TF2 feature-vector module, input [0, 1]
    input_layer: str  # TF1 input op name
    input_size: int
    input_mean: float
    input_std: float
    bottleneck_size: int  # width of the feature vector module's output
    codelab: Optional[CodelabGraph] = None

    @property
    def input_tensor(self) -> str:
        return f"{self.input_layer}:0"


def _mobilenet_v1(version: str, size: int) -> Architecture:
    width = float(version)
    return Architecture(
        name=f"mobilenet_{version}_{size}",
        family="mobilenet_v1",
        width=width,
        hub_handle=f"https://tfhub.dev/google/imagenet/mobilenet_v1_{round(width * 100):03d}_{size}/feature_vector/5",
        input_layer="input",
        input_size=size,
        input_mean=127.5,
        input_std=127.5,
        bottleneck_size=int(1024 * width),
        codelab=CodelabGraph(
            archive=f"mobilenet_v1_{version}_{size}_frozen.tgz",
            url=f"{TF_MODELS_URL}/mobilenet_v1_{version}_{size}_frozen.tgz",
            graph_file=f"mobilenet_v1_{version}_{size}/frozen_graph.pb",
            input_tensor="input:0",
            bottleneck_tensor="MobilenetV1/Predictions/Reshape:0",
            bottleneck_size=1001,
        ),
    )


INCEPTION_V3 = Architecture(
    name="inception_v3",
    family="inception_v3",
    width=1.0,
    hub_handle="https://tfhub.dev/google/imagenet/inception_v3/feature_vector/5",
    input_layer="Mul",
    input_size=299,
    input_mean=128.0,
    input_std=128.0,
    bottleneck_size=2048,
    codelab=CodelabGraph(
        archive="inception-2015-12-05.tgz",
        url=f"{TF_MODELS_URL}/image/imagenet/inception-2015-12-05.tgz",
        graph_file="classify_image_graph_def.pb",
        input_tensor="Mul:0",
        bottleneck_tensor="pool_3/_reshape:0",
        bottleneck_size=2048,
    ),
)

# The TF2 transfer-learning tutorial's module.
MOBILENET_V2 = Architecture(
    name="mobilenet_v2_1.00_224",
    family="mobilenet_v2",
    width=1.0,
    hub_handle="https://tfhub.dev/google/tf2-preview/mobilenet_v2/feature_vector/4",
    input_layer="input",
    input_size=224,
    input_mean=127.5,
    input_std=127.5,
    bottleneck_size=1280,
)

ARCHITECTURES = {a.name: a for a in [INCEPTION_V3, MOBILENET_V2] + [_mobilenet_v1(v, s) for v in MOBILENET_VERSIONS for s in MOBILENET_SIZES]}


def get_architecture(name: str) -> Architecture:
    key = name.strip().lower()
    match = re.fullmatch(r"mobilenet_(\d\.\d+)_(\d+)", key)
    if match and match.group(1) in ("0.5", "1.00"):  # accept the obvious spellings of 0.50 and 1.0
        key = f"mobilenet_{'0.50' if match.group(1) == '0.5' else '1.0'}_{match.group(2)}"
    if key.endswith("_quantized"):
        raise HomeworkError(f"--architecture '{name}': quantized graphs are not supported; drop '_quantized'")
    try:
        return ARCHITECTURES[key]
    except KeyError:
        raise HomeworkError(f"--architecture '{name}' is not known; expected {ARCHITECTURE_HELP}") from None
