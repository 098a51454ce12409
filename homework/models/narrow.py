"""A width-1/k copy of a Keras functional network, and its embedding into the full-width one.

Pretraining Inception v3 on two CPU cores learns too slowly for a stand-in (4,000 steps in 22
minutes gave a probe of 0.63), and its 22 M weights are too big to commit. The same network
with every convolution's filters divided by k (k = 4: 1.4 M weights, about 1/16 of the work)
trains at 150 px in 15 minutes. `embed` then writes it into the full network: each narrow
channel becomes one channel of the full layer, every other channel's weights are zero. Those
channels read nothing and output zero through BatchNorm (beta 0, moving mean 0) and ReLU, so
the full network computes the narrow one's features exactly, at the full network's size and
cost.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np


def narrow_copy(model, divisor: int):
    """A new, randomly initialised model with `model`'s layers and every Conv2D's filters // divisor."""
    from ..compat import keras

    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "Conv2D":
            layer["config"]["filters"] = max(1, layer["config"]["filters"] // divisor)
    return keras.Model.from_config(config)


def _inputs(layer) -> List:
    found = layer.input
    return list(found) if isinstance(found, (list, tuple)) else [found]


def embed(narrow, full) -> np.ndarray:
    """Set `full`'s weights so that it computes `narrow` (a narrow_copy of the same network)
    on the channels returned (the indices of the narrow output's channels in the full output),
    with zeros on every other channel."""
    maps: Dict[int, np.ndarray] = {}  # id of a narrow tensor -> its channels' indices in the full tensor
    for small, big in zip(narrow.layers, full.layers):
        kind = type(small).__name__
        if kind == "InputLayer":
            out = np.arange(small.output.shape[-1])
        else:
            ins = [maps[id(t)] for t in _inputs(small)]
            if kind == "Conv2D":
                weights, *bias = small.get_weights()
                kernel = np.zeros(big.kernel.shape, np.float32)
                out = np.arange(weights.shape[-1])
                kernel[:, :, ins[0][:, None], out[None, :]] = weights
                big.set_weights([kernel] + [np.pad(b, (0, big.filters - len(b))) for b in bias])
            elif kind == "BatchNormalization":
                out = ins[0]
                big.set_weights(_batchnorm_weights(small, big, out))
            elif kind == "Concatenate":
                offsets = np.cumsum([0] + [t.shape[-1] for t in _inputs(big)])
                out = np.concatenate([offset + m for offset, m in zip(offsets, ins)])
            elif not small.weights:  # activations, pooling, rescaling: channels pass through
                out = ins[0]
            else:
                raise ValueError(f"{small.name}: cannot embed a {kind} layer")
        maps[id(small.output)] = out
    return maps[id(narrow.output)]


def _batchnorm_weights(small, big, channels: np.ndarray) -> List[np.ndarray]:
    """`big`'s BatchNorm weights: `small`'s on `channels`, neutral elsewhere (gamma and moving
    variance 1, beta and moving mean 0)."""
    out = []
    for variable, value in zip(big.weights, small.get_weights()):
        name = variable.name.split("/")[-1].split(":")[0]
        full = np.ones(variable.shape, np.float32) if name in ("gamma", "moving_variance") else np.zeros(variable.shape, np.float32)
        full[channels] = value
        out.append(full)
    return out
