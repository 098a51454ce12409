"""Where the image trees come from: a folder the user gives, flower_photos downloaded and
unpacked into the cache (real profile, catalogue.py), or a generated tree in the cache
(embedded profile)."""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .. import catalogue, files
from ..errors import HomeworkError
from ..settings import Settings
from . import generated

log = logging.getLogger("hw5")


@dataclass(frozen=True)
class TreeSource:
    root: Path
    identity: str
    stand_in: bool
    built: bool = False  # True when this call generated it


def flowers(settings: Settings) -> TreeSource:
    if settings.flowers_dir:
        return user_folder(settings.flowers_dir, "flowers folder not found (setting flowers_dir, flag --flowers-dir)")
    if settings.profile == "real":
        return TreeSource(catalogue.place(catalogue.FLOWERS, settings).path, f"download: {catalogue.FLOWERS.url}", False)
    return generated_tree(settings, "flower_photos", settings.flowers_images_per_class, settings.flowers_image_px)


OWN_HELD_OUT = 68  # generated own images per class kept for testing: 204 test images in three classes, so a gain of a few points stands out of its standard error


def own_images(settings: Settings) -> Optional[TreeSource]:
    """Question 10's tree: the student's photos (setting own_images_dir, one folder per class);
    in the embedded profile the generated fruit tree (enough images a class for the largest
    training count plus the held-out ones); in the real profile without a folder, None."""
    if settings.own_images_dir:
        return user_folder(settings.own_images_dir, "own images folder not found (setting own_images_dir, flag --own-images-dir)")
    if settings.profile == "real":
        return None
    return generated_tree(settings, "own_images", max(settings.own_images_per_class) + OWN_HELD_OUT, settings.flowers_image_px)


def user_folder(path, missing: str) -> TreeSource:
    """A class-per-folder tree the user gives: never a stand-in."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise HomeworkError(f"{root}: {missing}")
    return TreeSource(root, f"folder: {root}", False)


def generated_tree(settings: Settings, tree: str, images_per_class: int, px: int) -> TreeSource:
    """The generated tree from the cache; written (or repaired) when missing or corrupt."""
    base = Path(settings.cache_dir) / "data" / generated.tree_key(tree, images_per_class, px)
    manifest_path = base / "manifest.json"
    built = not _intact(base, manifest_path)
    if built:
        log.warning("generating %s (%d images a class, %dpx) in %s", tree, images_per_class, px, base)
        shutil.rmtree(base, ignore_errors=True)
        root, _ = generated.write_tree(base, tree, images_per_class, px)
        listing = {p.relative_to(base).as_posix(): files.sha256_file(p) for p in sorted(root.rglob("*.jpg"))}
        files.write_json(manifest_path, {"tree": tree, "files": listing})
    manifest = json.loads(manifest_path.read_text())
    digest = files.sha256_bytes(json.dumps(manifest["files"], sort_keys=True).encode())
    return TreeSource(base / tree, f"stand-in: generated {tree} v{generated.RECIPE_VERSION} ({digest[:12]})", True, built)


def is_generated_tree(root) -> bool:
    """Whether `root` is one of the generated trees: the folder beside the manifest generated_tree writes."""
    try:
        return "tree" in json.loads((Path(root).expanduser().resolve().parent / "manifest.json").read_text())
    except (OSError, ValueError, TypeError):
        return False


def _intact(base: Path, manifest_path: Path) -> bool:
    try:
        listing = json.loads(manifest_path.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    for name, digest in listing.items():
        path = base / name
        if not path.is_file() or files.sha256_file(path) != digest:
            log.warning("%s: missing or corrupt, regenerating the tree", path)
            return False
    return True
