"""Stand-in feature-vector modules for the embedded profile.

Each is the real architecture family (tf_keras.applications MobileNet, MobileNetV2 or
InceptionV3 at the registry's width), pretrained on a generated part-attribute task (never
the flower classes) from committed weights, and saved as a TF2 SavedModel with a [0, 1]
image input: the format of a TF Hub image feature-vector module, loaded by the same
hub.KerasLayer / hub.load call as the real handle. A manifest of file hashes beside it
lets a corrupt or half-written stand-in be detected and rebuilt.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .. import files
from ..data import generated
from ..errors import HomeworkError
from . import narrow
from .registry import Architecture

log = logging.getLogger("hw5")
MANIFEST = "hw5-manifest.json"

RECIPE_VERSION = 2
WEIGHTS_DIR = Path(__file__).parent / "standin_weights"  # committed weights: see build_standins.py


@dataclass(frozen=True)
class Pretraining:
    image_px: int  # pretraining resolution (generated images are drawn at 128 px and resized)
    steps: int
    batch: int = 32
    learning_rate: float = 3e-3
    pool: int = 4000  # distinct pretext images, cycled with random flips
    calibrate_px: int = 224  # BatchNorm statistics are re-estimated at the size the tasks feed
    build_steps: int = 120  # when built by hw5 data (no committed weights): a few minutes at most
    divisor: int = 1  # > 1: pretrain the network at 1/divisor of its width, then embed it (narrow.py)


# The stand-ins are pretrained once by `python -m homework.models.build_standins` and their
# weights committed (identical on every machine; weights.json holds the exact recipes, which
# continue these at a higher resolution). Without committed weights `hw5 data` pretrains
# build_steps here, a weak stand-in that says so.
PRETRAINING = {
    "mobilenet_v1": Pretraining(image_px=80, steps=6000, pool=6000, calibrate_px=224),
    "mobilenet_v2": Pretraining(image_px=64, steps=5000, pool=6000, calibrate_px=96),
    # Inception v3 barely learns at 75 px (its last blocks see 1x1 maps: 6,000 steps gave a probe
    # of 0.52); at 150 px 600 steps gave 0.66.
    "inception_v3": Pretraining(image_px=150, steps=5000, pool=6000, calibrate_px=299, build_steps=60, divisor=4),
}


def describe(arch: Architecture, plan: Pretraining) -> str:
    width = f"width {arch.width:g}" if plan.divisor == 1 else (
        f"pretrained at 1/{plan.divisor} of its width and embedded in the full network (the other channels' weights are zero)")
    return (
        f"stand-in v{RECIPE_VERSION}: tf_keras.applications {arch.family} {width}, "
        f"pretrained {plan.steps} steps x {plan.batch} on generated part-attribute images at {plan.image_px}px, "
        f"BatchNorm calibrated at {plan.calibrate_px}px"
        + (f", features scaled to squared norm {FEATURE_SQUARED_NORM:g}" if arch.family in LAST_BATCHNORM else "")
    )


def recipe(arch: Architecture) -> str:
    """How this machine's stand-in for `arch` comes about: the committed weights' own recipe, or pretrained here."""
    weights = committed_weights(arch)
    if weights:
        entry = weights_index().get(weights.name, {})
        return f"{entry.get('recipe', 'unknown recipe')} (committed weights {weights.name}, sha256 {str(entry.get('sha256'))[:12]})"
    plan = PRETRAINING[arch.family]
    return describe(arch, dataclasses.replace(plan, steps=min(plan.steps, plan.build_steps))) + " (pretrained here)"


def weights_index() -> dict:
    path = WEIGHTS_DIR / "weights.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except ValueError as exc:
        raise HomeworkError(f"{path}: not valid JSON ({exc})") from None


def committed_weights(arch: Architecture) -> Optional[Path]:
    path = WEIGHTS_DIR / f"{arch.name}.npz"
    return path if path.is_file() else None


def _backbone(arch: Architecture):
    from ..compat import keras

    apps = keras.applications
    common = dict(input_shape=(None, None, 3), include_top=False, weights=None, pooling="avg")
    if arch.family == "mobilenet_v1":
        return apps.MobileNet(alpha=arch.width, **common)
    if arch.family == "mobilenet_v2":
        return apps.MobileNetV2(alpha=arch.width, **common)
    return apps.InceptionV3(**common)


def new_module(arch: Architecture, divisor: int = 1):
    """(module [0, 1] images -> pooled features, its backbone), randomly initialised, at
    1/divisor of the architecture's width."""
    from ..compat import keras

    backbone = _backbone(arch)
    if divisor > 1:
        backbone = narrow.narrow_copy(backbone, divisor)
    # Hub image modules take [0, 1]; Keras' MobileNet and Inception expect [-1, 1].
    inputs = keras.Input((None, None, 3), name="images")
    features = backbone(keras.layers.Rescaling(2.0, offset=-1.0)(inputs))
    return keras.Model(inputs, features, name=arch.name.replace(".", "_")), backbone


def _batchnorms(backbone):
    from ..compat import keras

    return [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]


def pretrain(arch: Architecture, plan: Pretraining, seed: int = 0, log_every: int = 0, start_from: Optional[Path] = None):
    """Train `arch` (fresh, or from saved weights) on the generated pretext task (never the
    flower classes). Returns (module, backbone, {head: accuracy on fresh pretext images})."""
    from ..compat import keras, tf

    keras.utils.set_random_seed(seed)
    module, backbone = new_module(arch, plan.divisor)
    if start_from:
        load_npz(module, start_from)
    for layer in _batchnorms(backbone):  # short pretraining: let BN's moving statistics catch up
        layer.momentum = 0.9
    images = keras.Input((None, None, 3))
    features = module(images)
    heads = keras.Model(images, {name: keras.layers.Dense(n, name=name)(features) for name, n in generated.PRETEXT_HEADS.items()})
    heads.compile(
        # cosine decay: the last steps at a small rate settle the features the probe reads
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(plan.learning_rate, plan.steps, alpha=0.02)),
        loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in generated.PRETEXT_HEADS},
        metrics={name: "accuracy" for name in generated.PRETEXT_HEADS},
    )
    rng = np.random.default_rng(seed)
    x, y = generated.pretext_batch(rng, plan.pool, 128)

    def prepare(image, labels):
        image = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (plan.image_px, plan.image_px))
        return tf.image.random_flip_left_right(image, seed=seed), labels

    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(plan.pool, seed=seed).repeat().map(prepare).batch(plan.batch).prefetch(2)
    epochs = max(1, plan.steps // log_every) if log_every else 1
    heads.fit(data, steps_per_epoch=plan.steps // epochs, epochs=epochs, verbose=2 if log_every else 0)
    del x
    x_check, y_check = generated.pretext_batch(rng, 256, 128)
    scores = heads.evaluate(tf.image.resize(x_check.astype(np.float32) / 255.0, (plan.image_px, plan.image_px)), y_check, verbose=0, return_dict=True)
    accuracy = {k[: -len("_accuracy")]: round(float(v), 4) for k, v in scores.items() if k.endswith("_accuracy")}
    return module, backbone, accuracy


def calibrate_batchnorm(module, backbone, px: int, seed: int = 1, count: int = 96, chunk: int = 16) -> None:
    """Set BatchNorm's moving statistics to the mean over generated pretext images at `px` of
    their batch statistics: forward passes in training mode, no optimizer, weights unchanged.
    Momentum k/(k+1) on chunk k makes the moving value the running mean over the chunks."""
    from ..compat import tf

    x, _ = generated.pretext_batch(np.random.default_rng(seed), count, 128)
    layers = _batchnorms(backbone)
    saved = [layer.momentum for layer in layers]
    for k, start in enumerate(range(0, count, chunk)):
        for layer in layers:
            layer.momentum = k / (k + 1)
        module(tf.image.resize(x[start:start + chunk].astype(np.float32) / 255.0, (px, px)), training=True)
    for layer, momentum in zip(layers, saved):
        layer.momentum = momentum


# The pooled features' mean squared norm a stand-in is scaled to. ImageNet-trained modules
# end in a weight-decayed 1,000-way classifier, which pushes their features large: a squared
# norm in the hundreds, at which the codelab's learning rate of 1.0 overshoots (the homework's
# question 9). The pretext heads exert no such pull, and the stand-ins' features came out near
# 70, where 1.0 trains as calmly as 0.01. Scaling the last BatchNorm's gamma and beta (before
# the final ReLU6) scales the features and leaves what they separate about the same (ReLU6
# clips a little).
FEATURE_SQUARED_NORM = 600.0
LAST_BATCHNORM = {"mobilenet_v1": "conv_pw_13_bn", "mobilenet_v2": "Conv_1_bn"}  # Inception v3 ends in ten branches: not scaled


def calibrate_feature_scale(module, backbone, family: str, px: int, seed: int = 1, count: int = 96, rounds: int = 3) -> Optional[float]:
    """Scale the last BatchNorm so the pooled features' mean squared norm on generated pretext
    images at `px` is FEATURE_SQUARED_NORM (a few rounds: ReLU6 clips). Returns the factor
    applied, or None for an architecture without a single last BatchNorm."""
    from ..compat import tf

    name = LAST_BATCHNORM.get(family)
    if name is None:
        return None
    layer = backbone.get_layer(name)
    x, _ = generated.pretext_batch(np.random.default_rng(seed), count, 128)
    images = tf.image.resize(x.astype(np.float32) / 255.0, (px, px))
    total = 1.0
    for _ in range(rounds):
        features = np.concatenate([np.asarray(module(images[i:i + 16])) for i in range(0, count, 16)])
        factor = float(np.sqrt(FEATURE_SQUARED_NORM / max(np.mean(np.sum(features.astype(np.float64) ** 2, axis=1)), 1e-12)))
        gamma, beta, *stats = layer.get_weights()
        layer.set_weights([gamma * factor, beta * factor, *stats])
        total *= factor
    return total


def load_committed(arch: Architecture, path: Path):
    """A module with the committed weights at `path`, after checking them against the hash file."""
    expected = weights_index().get(path.name, {}).get("sha256")
    actual = files.sha256_file(path)
    if actual != expected:
        raise HomeworkError(f"{path}: committed stand-in weights do not match weights.json (sha256 {actual[:12]}, expected {str(expected)[:12]}); rebuild with python -m homework.models.build_standins")
    return load_weights(arch, path)


def load_weights(arch: Architecture, path: Path):
    """(module, backbone) of the full architecture with the stand-in weights stored at `path`."""
    module, backbone = new_module(arch, PRETRAINING[arch.family].divisor)
    load_npz(module, path)
    return full_width(arch, module, backbone)


def full_width(arch: Architecture, module, backbone):
    """The full architecture computing what a module pretrained at the recipe's width computes."""
    if PRETRAINING[arch.family].divisor == 1:
        return module, backbone
    wide, wide_backbone = new_module(arch)
    narrow.embed(backbone, wide_backbone)
    return wide, wide_backbone


def load_npz(module, path: Path) -> None:
    with np.load(path) as stored:
        module.set_weights([stored[f"w{i:03d}"].astype(np.float32) for i in range(len(module.weights))])


def save_weights(module, path: Path) -> None:
    with files.atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            # float16 halves what is committed; the probe is measured on the weights as stored
            np.savez(handle, **{f"w{i:03d}": w.astype(np.float16) for i, w in enumerate(module.get_weights())})


def build(arch: Architecture, out_dir: Path, seed: int = 0) -> dict:
    """Build the stand-in for `arch` into out_dir (replaced whole): from the committed weights
    when there are some, else pretrained here."""
    from ..compat import tf

    started = time.perf_counter()
    plan = PRETRAINING[arch.family]
    weights = committed_weights(arch)
    if weights:
        module, _ = load_committed(arch, weights)
        pretraining = {"weights": f"{weights.name} sha256 {files.sha256_file(weights)[:16]}"}
    else:
        if plan.build_steps < plan.steps:
            log.warning("%s: no committed stand-in weights; pretraining only %d steps here (weak features)", arch.name, plan.build_steps)
        plan = dataclasses.replace(plan, steps=min(plan.steps, plan.build_steps), pool=min(plan.pool, plan.build_steps * plan.batch))
        module, backbone, accuracy = pretrain(arch, plan, seed)
        calibrate_batchnorm(module, backbone, plan.calibrate_px)
        module, backbone = full_width(arch, module, backbone)
        scale = calibrate_feature_scale(module, backbone, arch.family, plan.calibrate_px)
        pretraining = {"pretext_accuracy": accuracy, "heads": dict(generated.PRETEXT_HEADS), "recipe": describe(arch, plan), "feature_scale": scale}

    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    tf.saved_model.save(module, str(staging))
    manifest = {
        "architecture": arch.name,
        "recipe": recipe(arch),
        "parameters": int(module.count_params()),
        "output_size": int(module.output_shape[-1]),
        "pretraining": pretraining,
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    manifest["files"] = {p.relative_to(staging).as_posix(): files.sha256_file(p) for p in sorted(staging.rglob("*")) if p.is_file()}
    files.write_json(staging / MANIFEST, manifest)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return manifest


def verify(path: Path) -> dict:
    """The manifest if every file it lists is present and unchanged, else {}."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
        for name, digest in manifest["files"].items():
            if files.sha256_file(path / name) != digest:
                log.warning("%s: stand-in file %s is corrupt, rebuilding", path, name)
                return {}
        return manifest
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def tree_hash(manifest: dict) -> str:
    return files.sha256_bytes(json.dumps(manifest["files"], sort_keys=True).encode())
