"""Small local inputs in the real profile's formats, for rehearsing `hw5 run --profile real` offline:
a flower_photos-shaped folder, an own-images folder (class-per-folder JPEGs), an mnist.npz
as keras.datasets writes it, and a TF2 SavedModel feature-vector module (image in [0, 1] ->
pooled features) as TF Hub ships them. None of them carries hw5's stand-in manifest."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import numpy as np

FEATURES = 48


def image_tree(root: Path, name: str, per_class: int, px: int = 64) -> Path:
    """A class-per-folder JPEG tree (the generated flowers or fruit) under root/name."""
    from homework.data import generated

    tree, _ = generated.write_tree(root, name, per_class, px)
    return tree


def mnist_npz(path: Path, train: int = 600, test: int = 200) -> Path:
    """Real MNIST digits (the 5,000 hw5 ships) written in keras.datasets' mnist.npz layout."""
    from homework.data.mnist import shipped_digits

    x, y = shipped_digits()
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y.astype(np.uint8)[order]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, x_train=x[:train], y_train=y[:train], x_test=x[train:train + test], y_test=y[train:train + test])
    return path


def saved_model(path: Path, steps: int = 40) -> Path:
    """A small convolutional feature extractor, trained briefly on generated shapes (so its
    features separate images), saved with tf.saved_model.save like a TF Hub module."""
    from homework.compat import keras, tf
    from homework.data.generated import pretext_batch

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3), name="images")
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2D(FEATURES, 3, strides=2, activation="relu")(x)
    features = keras.layers.GlobalAveragePooling2D()(x)
    module = keras.Model(inputs, features, name="local_module")
    head = keras.Sequential([module, keras.layers.Dense(6)])  # the pretext task's motif head
    head.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    images, labels = pretext_batch(np.random.default_rng(0), steps * 16, 48)
    head.fit(images.astype(np.float32) / 255.0, labels["motif"], batch_size=16, epochs=1, verbose=0)
    tf.saved_model.save(module, str(path))
    return path


def build(root: Path) -> Dict[str, Path]:
    root = Path(root)
    return {
        "flowers_dir": image_tree(root / "data", "flower_photos", per_class=14),
        "own_images_dir": image_tree(root / "own", "own_images", per_class=10),
        "mnist_path": mnist_npz(root / "mnist.npz"),
        "hub_module": saved_model(root / "module"),
    }
