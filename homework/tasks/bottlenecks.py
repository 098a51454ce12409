"""The bottleneck cache: one file per (extractor, image content), checked on read.

A file holds a 32-byte BLAKE2b digest followed by the float32 vector; a file whose
length or digest does not match is treated as missing and recomputed, so a corrupt or
half-written entry is never used. Keys are content hashes, so renaming or moving images
keeps their entries, and another learning rate or a re-run reuses everything valid.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

import numpy as np

from .. import files

DIGEST_BYTES = 32


class BottleneckCache:
    def __init__(self, root, extractor_key: str, width: int):
        self.folder = Path(root) / extractor_key[:24]
        self.width = width
        self.hits = self.misses = self.corrupt = 0

    def path(self, image_sha: str) -> Path:
        return self.folder / image_sha[:2] / f"{image_sha}.bin"

    def get(self, image_sha: str) -> Optional[np.ndarray]:
        path = self.path(image_sha)
        try:
            data = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        payload = data[DIGEST_BYTES:]
        if len(payload) != self.width * 4 or hashlib.blake2b(payload, digest_size=DIGEST_BYTES).digest() != data[:DIGEST_BYTES]:
            self.corrupt += 1
            return None
        self.hits += 1
        return np.frombuffer(payload, np.float32)

    def put(self, image_sha: str, vector: np.ndarray) -> None:
        payload = np.ascontiguousarray(vector, np.float32).tobytes()
        digest = hashlib.blake2b(payload, digest_size=DIGEST_BYTES).digest()
        files.write_bytes(self.path(image_sha), digest + payload, durable=False)
