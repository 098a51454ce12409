"""Stand-in feature-vector modules for the embedded profile.

Each is the real architecture family (tf_keras.applications MobileNet, MobileNetV2 or
InceptionV3 at the registry's width), pretrained briefly on a generated shapes task (not
flowers) so its features are not random, and saved as a TF2 SavedModel with a [0, 1]
image input: the format of a TF Hub image feature-vector module, loaded by the same
hub.KerasLayer / hub.load call as the real handle. A manifest of file hashes beside it
lets a corrupt or half-written stand-in be detected and rebuilt.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .. import files
from .registry import Architecture

log = logging.getLogger("hw5")

RECIPE_VERSION = 1
SHAPES = ("circle", "square", "triangle", "star", "ring", "cross", "stripes", "checker")


@dataclass(frozen=True)
class Pretraining:
    image_px: int
    steps: int
    batch: int = 32
    learning_rate: float = 1e-3


# Brief, cheap pretraining at low resolution; the nets are fully convolutional, so the
# weights carry over to the registry's input size.
PRETRAINING = {
    "mobilenet_v1": Pretraining(image_px=64, steps=120),
    "mobilenet_v2": Pretraining(image_px=64, steps=80),
    "inception_v3": Pretraining(image_px=75, steps=30, batch=16),
}


def recipe(arch: Architecture) -> str:
    p = PRETRAINING[arch.family]
    return (
        f"stand-in v{RECIPE_VERSION}: tf_keras.applications {arch.family} width {arch.width:g}, "
        f"pretrained {p.steps} steps x {p.batch} on generated shapes at {p.image_px}px"
    )


def shape_batch(rng: np.random.Generator, count: int, px: int):
    """Generated pretraining images (float [0, 1]) and their shape labels."""
    images = np.empty((count, px, px, 3), np.float32)
    labels = rng.integers(0, len(SHAPES), count)
    for i, label in enumerate(labels):
        bg, fg = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        image = Image.new("RGB", (px, px), tuple(int(c) for c in bg))
        draw = ImageDraw.Draw(image)
        r = px * rng.uniform(0.18, 0.4)
        cx, cy = rng.uniform(r, px - r, 2)
        colour = tuple(int(c) for c in fg)
        name = SHAPES[label]
        if name in ("circle", "ring"):
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=None if name == "ring" else colour, outline=colour, width=max(2, int(r / 4)))
        elif name == "square":
            draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour)
        elif name in ("triangle", "star"):
            points = 3 if name == "triangle" else 10
            a0 = rng.uniform(0, 2 * math.pi)
            pts = [
                (cx + r * (1 if name == "triangle" or k % 2 == 0 else 0.45) * math.cos(a0 + 2 * math.pi * k / points),
                 cy + r * (1 if name == "triangle" or k % 2 == 0 else 0.45) * math.sin(a0 + 2 * math.pi * k / points))
                for k in range(points)
            ]
            draw.polygon(pts, fill=colour)
        elif name == "cross":
            w = r / 3
            draw.rectangle((cx - r, cy - w, cx + r, cy + w), fill=colour)
            draw.rectangle((cx - w, cy - r, cx + w, cy + r), fill=colour)
        elif name == "stripes":
            step = max(3, int(px / rng.uniform(4, 10)))
            for y in range(0, px, 2 * step):
                draw.rectangle((0, y, px, y + step - 1), fill=colour)
        else:  # checker
            step = max(3, int(px / rng.uniform(4, 10)))
            for y in range(0, px, step):
                for x in range((y // step) % 2 * step, px, 2 * step):
                    draw.rectangle((x, y, x + step - 1, y + step - 1), fill=colour)
        array = np.asarray(image, np.float32) / 255.0
        images[i] = np.clip(array + rng.normal(0, 0.04, array.shape), 0, 1)
    return images, labels


def _backbone(arch: Architecture):
    from ..compat import keras

    apps = keras.applications
    common = dict(input_shape=(None, None, 3), include_top=False, weights=None, pooling="avg")
    if arch.family == "mobilenet_v1":
        return apps.MobileNet(alpha=arch.width, **common)
    if arch.family == "mobilenet_v2":
        return apps.MobileNetV2(alpha=arch.width, **common)
    return apps.InceptionV3(**common)


def build(arch: Architecture, out_dir: Path, seed: int = 0) -> dict:
    """Build, pretrain and save the stand-in for `arch` into out_dir (replaced whole)."""
    from ..compat import keras, tf

    started = time.perf_counter()
    keras.utils.set_random_seed(seed)
    backbone = _backbone(arch)
    # Hub image modules take [0, 1]; Keras' MobileNet and Inception expect [-1, 1].
    inputs = keras.Input((None, None, 3), name="images")
    features = backbone(keras.layers.Rescaling(2.0, offset=-1.0)(inputs))
    module = keras.Model(inputs, features, name=arch.name.replace(".", "_"))

    plan = PRETRAINING[arch.family]
    for layer in backbone.layers:  # short pretraining: let BN's moving statistics catch up
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9
    head = keras.Sequential([module, keras.layers.Dense(len(SHAPES))])
    head.compile(optimizer=keras.optimizers.Adam(plan.learning_rate), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    rng = np.random.default_rng(seed)
    x, y = shape_batch(rng, plan.steps * plan.batch, plan.image_px)
    history = head.fit(x, y, batch_size=plan.batch, epochs=1, verbose=0)
    x_check, y_check = shape_batch(rng, 256, plan.image_px)
    _, check_accuracy = head.evaluate(x_check, y_check, verbose=0)

    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    tf.saved_model.save(module, str(staging))
    manifest = {
        "architecture": arch.name,
        "recipe": recipe(arch),
        "parameters": int(module.count_params()),
        "output_size": int(module.output_shape[-1]),
        "pretraining": {"loss": float(history.history["loss"][-1]), "shapes_accuracy": float(check_accuracy), "classes": len(SHAPES)},
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    manifest["files"] = {p.relative_to(staging).as_posix(): files.sha256_file(p) for p in sorted(staging.rglob("*")) if p.is_file()}
    files.write_json(staging / "hw5-manifest.json", manifest)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return manifest


def verify(path: Path) -> dict:
    """The manifest if every file it lists is present and unchanged, else {}."""
    try:
        manifest = json.loads((path / "hw5-manifest.json").read_text())
        for name, digest in manifest["files"].items():
            if files.sha256_file(path / name) != digest:
                log.warning("%s: stand-in file %s is corrupt, rebuilding", path, name)
                return {}
        return manifest
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def tree_hash(manifest: dict) -> str:
    return files.sha256_bytes(json.dumps(manifest["files"], sort_keys=True).encode())
