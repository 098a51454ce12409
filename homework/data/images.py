"""One loader for any class-per-folder image tree (the flower_photos layout).

    root/<class folder>/<image>.jpg|.jpeg|.png      (any case; subfolders count for their class)

Every image is decoded once and the verdict cached by content hash, so a truncated,
zero-byte or non-image file is skipped with one line naming it, never a traceback.
Images are split into training / validation / testing by a hash of "<class folder>/<file
name>" (the codelab's formula, but without the root path), so the split does not change
when images are added or when the root is spelled differently.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from .. import files
from ..errors import HomeworkError

log = logging.getLogger("hw5")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
SPLITS = ("training", "validation", "testing")
MAX_NUM_IMAGES_PER_CLASS = 2**27 - 1  # the codelab's constant, kept so splits match its formula


@dataclass(frozen=True)
class ImageEntry:
    path: Path
    label_index: int
    split: str
    sha256: str


@dataclass(frozen=True)
class ImageTree:
    root: Path
    class_dirs: Tuple[str, ...]  # folder names, sorted: the label order
    labels: Tuple[str, ...]  # as the codelab writes them to retrained_labels.txt
    entries: Tuple[ImageEntry, ...]
    skipped: Tuple[Tuple[str, str], ...] = ()  # (path, reason)
    notes: Tuple[str, ...] = ()
    sha256: str = ""

    def split(self, name: str) -> List[ImageEntry]:
        return [e for e in self.entries if e.split == name]

    def counts(self) -> Dict[str, Dict[str, int]]:
        table = {label: dict.fromkeys(SPLITS, 0) for label in self.labels}
        for entry in self.entries:
            table[self.labels[entry.label_index]][entry.split] += 1
        return table

    def describe(self) -> dict:
        return {
            "root": str(self.root),
            "sha256": self.sha256,
            "classes": list(self.labels),
            "class_dirs": list(self.class_dirs),
            "sample": [e.path.relative_to(self.root).as_posix() for e in self.entries[:5]],  # how its files are named
            "images": len(self.entries),
            "splits": {s: len(self.split(s)) for s in SPLITS},
            "skipped": len(self.skipped),
        }


def codelab_label(folder_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", folder_name.lower())


def split_for(class_dir: str, file_name: str, validation_percentage: float, testing_percentage: float) -> str:
    hash_name = re.sub(r"_nohash_.*$", "", f"{class_dir}/{file_name}")
    digest = hashlib.sha1(hash_name.encode("utf-8")).hexdigest()
    percentage = (int(digest, 16) % (MAX_NUM_IMAGES_PER_CLASS + 1)) * (100.0 / MAX_NUM_IMAGES_PER_CLASS)
    if percentage < validation_percentage:
        return "validation"
    if percentage < validation_percentage + testing_percentage:
        return "testing"
    return "training"


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def image_folder(root) -> Path:
    """`root` as an existing folder, or the one-line error saying it is missing or not a folder."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise HomeworkError(f"{root}: image folder not found" if not root.exists() else f"{root}: not a folder")
    return root


def load_image_tree(
    root,
    validation_percentage: float = 10,
    testing_percentage: float = 10,
    cache_dir: Optional[Path] = None,
) -> ImageTree:
    root = image_folder(root)
    verdicts = _VerdictCache(cache_dir)
    notes: List[str] = []
    skipped: List[Tuple[str, str]] = []

    loose = [p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")]
    if loose:
        notes.append(f"{root}: {len(loose)} file(s) directly in the root ignored; images belong in one folder per class")

    usable: Dict[str, List[Tuple[str, Path, str]]] = {}
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images, nested, ignored = [], 0, 0
        for path in sorted(class_dir.rglob("*")):
            relative = path.relative_to(class_dir)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            if not is_image_name(path):
                ignored += 1
                continue
            reason, digest = verdicts.check(path)
            if reason:
                skipped.append((str(path), reason))
                notes.append(f"{path}: skipped, {reason}")
                continue
            nested += len(relative.parts) > 1
            images.append((relative.as_posix(), path, digest))
        if nested:
            notes.append(f"{class_dir}: {nested} image(s) in subfolders counted as class '{class_dir.name}'")
        if ignored:
            log.info("%s: %d non-image file(s) ignored", class_dir, ignored)
        if not images:
            notes.append(f"{class_dir}: no usable images, class dropped")
            continue
        usable[class_dir.name] = images
    verdicts.save()

    if len(usable) < 2:
        found = ", ".join(usable) or "none"
        raise HomeworkError(f"{root}: needs at least two class folders with usable images, found {len(usable)} ({found})")
    class_dirs = tuple(sorted(usable))
    labels = tuple(codelab_label(name) for name in class_dirs)
    clashes = [label for label, n in Counter(labels).items() if n > 1]
    if clashes:
        raise HomeworkError(f"{root}: class folders that differ only in case or punctuation share the label '{clashes[0]}'")

    held_out = [p for p in (validation_percentage, testing_percentage) if p > 0]
    min_for_split = math.ceil(100 / min(held_out)) if held_out else 0
    entries: List[ImageEntry] = []
    for index, name in enumerate(class_dirs):
        images = usable[name]
        too_small = len(images) < min_for_split
        if too_small:
            notes.append(
                f"{root / name}: only {len(images)} image(s), too few for a "
                f"{validation_percentage:g}%/{testing_percentage:g}% split; all used for training"
            )
        for relative, path, digest in images:
            split = "training" if too_small else split_for(name, relative, validation_percentage, testing_percentage)
            entries.append(ImageEntry(path, index, split, digest))

    for note in notes:
        log.warning(note)
    identity = hashlib.sha256(
        "\n".join(f"{class_dirs[e.label_index]}/{e.path.relative_to(root / class_dirs[e.label_index]).as_posix()} {e.sha256}" for e in entries).encode()
    ).hexdigest()
    return ImageTree(root, class_dirs, labels, tuple(entries), tuple(skipped), tuple(notes), identity)


class _VerdictCache:
    """Content hash -> "" (decodes) or the reason it does not; kept as JSON in the cache dir."""

    def __init__(self, cache_dir: Optional[Path]):
        self.path = Path(cache_dir) / "image-verdicts.json" if cache_dir else None
        self.known: Dict[str, str] = {}
        self.dirty = False
        if self.path and self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text())
                self.known = {k: v for k, v in loaded.items() if isinstance(v, str)}
            except (ValueError, AttributeError, OSError):
                log.info("%s: unreadable, image checks redone", self.path)

    def check(self, path: Path) -> Tuple[str, str]:
        data = path.read_bytes()
        digest = files.sha256_bytes(data)
        if digest not in self.known:
            self.known[digest] = decode_problem(path, data)
            self.dirty = True
        return self.known[digest], digest

    def save(self) -> None:
        if self.path and self.dirty:
            files.write_json(self.path, self.known)


def decode_problem(path: Path, data: bytes) -> str:
    """"" when the image decodes fully, else a short reason."""
    if not data:
        return "empty file (0 bytes)"
    try:
        from io import BytesIO

        with Image.open(BytesIO(data)) as image:
            image.load()
            if image.width < 1 or image.height < 1:
                return "image has no pixels"
    except UnidentifiedImageError:
        return "not an image PIL can read"
    except (OSError, SyntaxError, ValueError) as exc:
        text = str(exc)
        return "truncated image" if "truncated" in text.lower() else f"cannot decode ({text})"
    except Image.DecompressionBombError:
        return "image too large to decode safely"
    return ""


def load_rgb(path, size: Optional[int] = None) -> np.ndarray:
    """The image as uint8 RGB: grayscale, palette, CMYK and alpha converted; resized
    bilinearly to [size, size, 3] as the codelab does, or at its own size when size is None."""
    with Image.open(path) as image:
        if image.format == "JPEG" and size:
            image.draft("RGB", (size, size))  # decode at reduced scale when much larger
        image = _to_rgb(image)
        if size:
            image = image.resize((size, size), Image.BILINEAR)
        return np.asarray(image, dtype=np.uint8)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.uint32)
        image = Image.fromarray((array >> 8 if array.max() > 255 else array).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image
