"""What the real profile downloads: each item's URL, its published size and sha256 where one
exists, and where it goes in the cache; and `place`, which makes an item ready and says how
(fetched, cached, or placed by hand).

Layout under the cache folder (settings.cache_dir):

    downloads/<file>             each download as published (flower_photos.tgz, mnist.npz,
                                 hub-<architecture>.tar.gz), beside <file>.hw5.json, the
                                 size, sha256 and mtime it had when fetched or checked
    real/flower_photos/          the flowers, unpacked (what the loaders read)
    real/hub/<architecture>/     each TF Hub module, unpacked (a SavedModel folder)
    codelab/<archive>            the codelab's frozen graphs: `hw5 retrain`'s default --model_dir
                                 in the real profile

An item with no published checksum is "not pinned": its size and sha256 are recorded on the
first download (or the first time a copy placed by hand is seen) and every later copy is
checked against that record.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from . import archives, download, files
from .errors import HomeworkError

if TYPE_CHECKING:  # only for annotations: the catalogue never imports the model registry
    from .models.registry import CodelabGraph
    from .settings import Settings

NOT_PINNED = "not pinned: no published checksum; size and sha256 recorded on first download and checked afterwards"
RECORD_SUFFIX = ".hw5.json"


@dataclass(frozen=True)
class Item:
    name: str  # as messages and `hw5 data` call it
    url: str
    filename: str  # the downloaded file's name
    folder: str  # where the download goes, relative to the cache folder
    size: Optional[int]
    sha256: Optional[str]
    pinned_by: str  # where size and sha256 come from, or NOT_PINNED
    unpack_to: Optional[str] = None  # folder (relative to the cache) an archive is unpacked into
    instead: str = ""  # the setting that replaces the item with the user's own copy

    def path(self, cache_dir) -> Path:
        return Path(cache_dir) / self.folder / self.filename

    def unpacked(self, cache_dir) -> Optional[Path]:
        return Path(cache_dir) / self.unpack_to if self.unpack_to else None

    def by_hand(self, cache_dir) -> str:
        """How to do without the download, as every failure message (which names the URL) ends."""
        alternative = f", or pass {self.instead}" if self.instead else ""
        return f"to place it by hand, download that URL yourself and save it as {self.path(cache_dir)}{alternative}, or use --profile embedded"


@dataclass(frozen=True)
class Placed:
    path: Path  # the file, or the folder it was unpacked into
    state: str  # fetched | cached | placed by hand
    sha256: str  # of the downloaded file (the archive, for an unpacked item)
    note: str = ""


# TensorFlow Datasets' url_checksums for tf_flowers; the class counts are the archive's.
FLOWER_CLASSES = {"daisy": 633, "dandelion": 898, "roses": 641, "sunflowers": 699, "tulips": 799}
FLOWERS = Item(
    name="flower_photos",
    url="https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz",
    filename="flower_photos.tgz",
    folder="downloads",
    size=228_813_984,
    sha256="4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c",
    pinned_by="TensorFlow Datasets' url_checksums (tf_flowers)",
    unpack_to="real/flower_photos",
    instead="--flowers-dir with an unpacked flower_photos folder",
)

MNIST = Item(
    name="mnist.npz",
    url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    filename="mnist.npz",
    folder="downloads",
    size=11_490_434,
    sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    pinned_by="sha256: the file_hash of keras.datasets.mnist.load_data (keras/src/datasets/mnist.py); size: the byte count Keras prints while downloading it",
    instead="--mnist-path with your mnist.npz",
)

CODELAB_FOLDER = "codelab"


def hub_module(handle: str, key: str) -> Item:
    """A TF Hub handle in its compressed-tarball form (what tensorflow_hub itself downloads),
    unpacked into real/hub/<key>. TF Hub publishes no checksums: not pinned."""
    separator = "&" if "?" in handle else "?"
    return Item(
        name=f"TF Hub module {key}",
        url=f"{handle}{separator}tf-hub-format=compressed",
        filename=f"hub-{key}.tar.gz",
        folder="downloads",
        size=None,
        sha256=None,
        pinned_by=NOT_PINNED,
        unpack_to=f"real/hub/{key}",
        instead="--hub-module with a local SavedModel folder",
    )


def handle_key(handle: str) -> str:
    """A folder name for a handle given with --hub-module (not one of the registry's)."""
    return "handle-" + hashlib.sha1(handle.encode()).hexdigest()[:12]


def codelab_graph(codelab: "CodelabGraph") -> Item:
    """The codelab's frozen-graph archive, left packed in the default --model_dir (retrain
    unpacks the graph it needs). No published checksums: not pinned."""
    return Item(
        name=f"codelab graph {codelab.archive}",
        url=codelab.url,
        filename=codelab.archive,
        folder=CODELAB_FOLDER,
        size=None,
        sha256=None,
        pinned_by=NOT_PINNED,
        instead="--model_dir (hw5 retrain) with a folder holding it",
    )


def codelab_dir(settings: "Settings") -> Path:
    """Where `hw5 data --profile real` puts the codelab's graphs and `hw5 retrain` looks by default."""
    return Path(settings.cache_dir) / CODELAB_FOLDER


def compare_flowers(root: Path) -> str:
    """A note when an unpacked tree is not the published flower_photos (other classes or
    counts of JPEGs), else "". Only a note: any class-per-folder tree can be used."""
    root = Path(root)
    counts = {d.name: sum(1 for p in d.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
              for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")}
    if counts == FLOWER_CLASSES:
        return ""
    differences = [f"{name} {counts.get(name, 0)} (published {expected})"
                   for name, expected in FLOWER_CLASSES.items() if counts.get(name, 0) != expected]
    differences += [f"{name} {count} (not a published class)" for name, count in sorted(counts.items()) if name not in FLOWER_CLASSES]
    return (f"note: not the published flower_photos ({sum(FLOWER_CLASSES.values()):,} JPEGs in {len(FLOWER_CLASSES)} classes): "
            f"{sum(counts.values()):,} JPEGs; " + ", ".join(differences))


def compare_mnist(path) -> str:
    """A note saying whether the student's own mnist.npz is the published file."""
    digest = files.sha256_file(path)
    if digest == MNIST.sha256:
        return "matches the published mnist.npz (sha256)"
    return f"note: not the published mnist.npz (sha256 {digest[:16]}..., published {MNIST.sha256[:16]}...): results are on your file"


def in_cache(item: Item, settings: "Settings") -> bool:
    """True when `place` needs no download: the item is unpacked as recorded, or its file is in
    the cache (`place` still checks that file's bytes)."""
    cache = Path(settings.cache_dir)
    return _unpacked_sha256(item, cache) is not None or item.path(cache).is_file()


def _unpacked_sha256(item: Item, cache: Path) -> Optional[str]:
    """The sha256 recorded when `item` was unpacked, if its folder is there and matches the pin."""
    folder = item.unpacked(cache)
    if folder is None or not folder.is_dir():
        return None
    digest = _read_record(_record_path(folder)).get("sha256")
    return digest if digest and item.sha256 in (None, digest) else None


def place(item: Item, settings: "Settings", policy: Optional[download.Policy] = None,
          progress: Optional[bool] = None) -> Placed:
    """Make `item` ready in the cache: reuse a checked copy, check a copy placed by hand, or
    download it; unpack it when it is an archive the loaders read unpacked."""
    cache = Path(settings.cache_dir)
    folder = item.unpacked(cache)
    unpacked = _unpacked_sha256(item, cache)
    if unpacked is not None:
        return Placed(folder, "cached", unpacked)
    placed = _place_file(item, cache, policy, progress)
    if folder is None:
        return placed
    count = archives.unpack(placed.path, folder)
    files.write_json(_record_path(folder), {"url": item.url, "sha256": placed.sha256, "files": count, "from": str(placed.path)})
    return Placed(folder, placed.state, placed.sha256, placed.note)


def _place_file(item: Item, cache: Path, policy, progress) -> Placed:
    path = item.path(cache)
    record_path = _record_path(path)
    record = _read_record(record_path)
    if path.is_file():
        stat = path.stat()
        unchanged = record.get("size") == stat.st_size and record.get("mtime_ns") == stat.st_mtime_ns
        if unchanged and record.get("sha256") and item.sha256 in (None, record["sha256"]):
            return Placed(path, "cached", record["sha256"])
        digest, note = _check_by_hand(item, path, record)
        if digest == record.get("sha256"):  # the same bytes, only touched or copied back
            _write_record(record_path, item, path, digest, record.get("how", "placed by hand"))
            return Placed(path, "cached", digest)
        _write_record(record_path, item, path, digest, "placed by hand")
        return Placed(path, "placed by hand", digest, note)
    wanted = download.Download(item.name, item.url, path, item.size or record.get("size"),
                               item.sha256 or record.get("sha256"), item.by_hand(cache))
    try:
        digest = download.fetch(wanted, policy, progress)
    except download.WrongBytes as exc:
        if item.sha256 or not record:
            raise
        raise HomeworkError(f"{exc} (the expected values were recorded from the copy fetched {record.get('when', 'earlier')}; "
                            f"if the publisher has changed the file, delete {record_path} to accept the new one)") from None
    _write_record(record_path, item, path, digest, "fetched")
    return Placed(path, "fetched", digest)


def _check_by_hand(item: Item, path: Path, record: dict):
    """(sha256, note) of a file found in the cache without a matching record: someone put it
    there (or changed it). Against the published values, else against an earlier record."""
    size, digest = path.stat().st_size, files.sha256_file(path)
    expected_sha, expected_size = item.sha256 or record.get("sha256"), item.size or record.get("size")
    source = item.pinned_by if item.sha256 else f"recorded {record.get('when', 'earlier')} in {_record_path(path)}"
    if (expected_sha and digest != expected_sha) or (expected_size and size != expected_size):
        expected = ", ".join(part for part in (expected_sha and f"sha256 {expected_sha}", expected_size and f"{expected_size:,} bytes") if part)
        raise HomeworkError(f"{path}: not the expected {item.name}: sha256 {digest}, {size:,} bytes; expected {expected} "
                            f"({source}); delete it to download {item.url} again, or put the right file there")
    if expected_sha:
        return digest, f"matches the {'published' if item.sha256 else 'recorded'} sha256"
    return digest, "not pinned: its size and sha256 are recorded now and checked from here on"


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def _read_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _write_record(record_path: Path, item: Item, path: Path, digest: str, how: str) -> None:
    stat = os.stat(path)
    files.write_json(record_path, {
        "name": item.name, "url": item.url, "size": stat.st_size, "sha256": digest, "mtime_ns": stat.st_mtime_ns,
        "how": how, "when": time.strftime("%Y-%m-%d %H:%M:%S"), "pinned_by": item.pinned_by,
    })
