"""The bottleneck cache: one file per (extractor, image content), checked on read.

A file holds a 32-byte BLAKE2b digest followed by the float32 vector; a file whose
length or digest does not match is treated as missing and recomputed, so a corrupt or
half-written entry is never used. Keys are content hashes, so renaming or moving images
keeps their entries, and another learning rate or a re-run reuses everything valid.
Beside the entries, throughput.json keeps the speed of the last pass that computed a
batch or more, so a run served from the cache reports a speed that was measured.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
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

    def save_throughput(self, images: int, seconds: float) -> None:
        when = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        files.write_json(self.folder / "throughput.json", {"images": images, "seconds": seconds, "images_per_s": images / seconds,
                                                           "when": when, "host": platform.node()})

    def throughput(self) -> Optional[dict]:
        """The stored pass, when it is readable and was measured on this host."""
        try:
            stored = json.loads((self.folder / "throughput.json").read_text())
            ok = stored["host"] == platform.node() and float(stored["images_per_s"]) > 0 and int(stored["images"]) > 0
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return stored if ok else None
