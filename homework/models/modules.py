"""Where a feature-vector module comes from (TF Hub, fetched and unpacked into the cache by
catalogue.py; a local path; or a stand-in built into the cache) and the one way to load it:
hub.KerasLayer / hub.load on that local folder."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from .. import catalogue, files
from ..errors import HomeworkError
from ..resources import in_child
from ..settings import Settings
from . import standins
from .registry import Architecture, get_architecture

log = logging.getLogger("hw5")


@dataclass(frozen=True)
class Module:
    architecture: Architecture
    location: str  # a local SavedModel folder
    identity: str
    sha256: str
    stand_in: bool
    parameters: Optional[int] = None

    def provenance(self) -> dict:
        return {
            "architecture": self.architecture.name,
            "identity": self.identity,
            "sha256": self.sha256,
            "stand_in": self.stand_in,
            "parameters": self.parameters,
        }


def standin_dir(settings: Settings, arch: Architecture) -> Path:
    return Path(settings.cache_dir) / "modules" / f"{arch.name}-standin-v{standins.RECIPE_VERSION}"


def ensure_standin(settings: Settings, arch: Architecture) -> Module:
    """The stand-in for `arch` from the cache, built (or rebuilt, if corrupt) when needed."""
    path = standin_dir(settings, arch)
    manifest = standins.verify(path)
    if manifest and manifest.get("recipe") != standins.recipe(arch):
        # e.g. the committed weights changed since this copy was built: never reuse a stale stand-in
        log.warning("%s: cached stand-in was built by another recipe, rebuilding", path)
        manifest = {}
    if not manifest:
        log.warning("building stand-in module %s (once; cached in %s)", arch.name, path)
        # in a child: building a network keeps hundreds of MB in the process that did it
        manifest = in_child(standins.build, arch, path, 0, gpu_memory_mb=settings.memory_budget_mb)
    return Module(arch, str(path), manifest["recipe"], standins.tree_hash(manifest), True, manifest["parameters"])


TF_HUB, YOUR_MODULE, STAND_IN, CODELAB_GRAPH = "TF Hub module", "your module", "stand-in module", "codelab frozen graph"


@dataclass(frozen=True)
class ModuleSource:
    """Where a module (or retrain's extractor) will come from, known before anything is
    loaded, built or fetched: what `hw5 run` and `hw5 retrain` say when they start."""

    architecture: str
    kind: str  # TF_HUB | YOUR_MODULE | STAND_IN | CODELAB_GRAPH
    where: str  # a handle, a folder or a file
    stand_in: bool
    fetch_from: Optional[str] = None  # the URL to download first; None when nothing is downloaded


def module_source(architecture: Union[str, Architecture], settings: Settings) -> ModuleSource:
    """Where get_module takes `architecture`'s module from: the registry's TF Hub handle (real
    profile) or --hub-module's handle, fetched into the cache; --hub-module's folder; else the stand-in."""
    arch = get_architecture(architecture) if isinstance(architecture, str) else architecture
    item = hub_download(arch, settings)
    if item is not None:
        fetch_from = None if catalogue.in_cache(item, settings) else item.url
        return ModuleSource(arch.name, TF_HUB, str(_handle(arch, settings)), False, fetch_from)
    if settings.hub_module:
        local = Path(str(settings.hub_module)).expanduser()
        return ModuleSource(arch.name, YOUR_MODULE, str(local), (local / standins.MANIFEST).is_file())
    return ModuleSource(arch.name, STAND_IN, str(standin_dir(settings, arch)), True)


def get_module(architecture: Union[str, Architecture], settings: Settings) -> Module:
    arch = get_architecture(architecture) if isinstance(architecture, str) else architecture
    source = module_source(arch, settings)
    if source.kind == TF_HUB:
        return _downloaded(arch, hub_download(arch, settings), settings)
    if source.kind == YOUR_MODULE:
        return _local(arch, Path(source.where))
    return ensure_standin(settings, arch)


def hub_download(arch: Architecture, settings: Settings) -> Optional[catalogue.Item]:
    """The download get_module reads `arch` from: the registry's TF Hub handle in the real
    profile, or a handle given with --hub-module; None for a stand-in or a local folder."""
    handle = _handle(arch, settings)
    if handle is None:
        return None
    key = arch.name if handle == arch.hub_handle else catalogue.handle_key(handle)
    return catalogue.hub_module(handle, key)


def _handle(arch: Architecture, settings: Settings) -> Optional[str]:
    if not settings.hub_module:
        return arch.hub_handle if settings.profile == "real" else None
    handle = str(settings.hub_module)
    if Path(handle).expanduser().exists():
        return None
    if not handle.startswith(("https://", "http://")):
        raise HomeworkError(f"{handle}: no such folder (--hub-module takes a local SavedModel folder or an https:// TF Hub handle)")
    return handle


def _local(arch: Architecture, local: Path) -> Module:
    if not (local / "saved_model.pb").is_file():
        raise HomeworkError(f"{local}: not a SavedModel folder (no saved_model.pb)")
    manifest = standins.verify(local)
    if manifest:  # a stand-in passed by path is still a stand-in
        return Module(arch, str(local), manifest["recipe"], standins.tree_hash(manifest), True, manifest["parameters"])
    return Module(arch, str(local), f"local module: {local}", files.sha256_tree(local), False)


def _downloaded(arch: Architecture, item: catalogue.Item, settings: Settings) -> Module:
    """A TF Hub handle fetched in its compressed form and unpacked into the cache."""
    placed = catalogue.place(item, settings)
    if not (placed.path / "saved_model.pb").is_file():
        raise HomeworkError(f"{item.url}: unpacked into {placed.path} without a saved_model.pb: not a TF2 SavedModel")
    return Module(arch, str(placed.path), f"tfhub: {_handle(arch, settings)}", placed.sha256, False)


def keras_layer(module: Module, trainable: bool = False, **kwargs):
    """The module as a Keras layer, exactly as the TF2 tutorial builds it."""
    from ..compat import hub

    return hub().KerasLayer(module.location, trainable=trainable, **kwargs)


def load(module: Module):
    from ..compat import hub

    return hub().load(module.location)
