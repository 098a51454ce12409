"""Where a feature-vector module comes from (TF Hub, a local path, or a stand-in built into
the cache) and the one way to load it: hub.KerasLayer / hub.load on that location."""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from .. import files
from ..errors import HomeworkError, OfflineError
from ..settings import Settings
from . import standins
from .registry import Architecture, get_architecture

log = logging.getLogger("hw5")
REACH_TIMEOUT_S = 4


@dataclass(frozen=True)
class Module:
    architecture: Architecture
    location: str  # a local SavedModel folder, or a handle hub resolves
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
        manifest = standins.build(arch, path, seed=0)
    return Module(arch, str(path), manifest["recipe"], standins.tree_hash(manifest), True, manifest["parameters"])


def get_module(architecture: Union[str, Architecture], settings: Settings) -> Module:
    arch = get_architecture(architecture) if isinstance(architecture, str) else architecture
    override = settings.hub_module
    if override:
        return _local_or_remote(arch, str(override))
    if settings.profile == "embedded":
        return ensure_standin(settings, arch)
    return _local_or_remote(arch, arch.hub_handle)


def _local_or_remote(arch: Architecture, handle: str) -> Module:
    local = Path(handle).expanduser()
    if local.exists():
        if not (local / "saved_model.pb").is_file():
            raise HomeworkError(f"{local}: not a SavedModel folder (no saved_model.pb)")
        manifest = standins.verify(local)
        if manifest:  # a stand-in passed by path is still a stand-in
            return Module(arch, str(local), manifest["recipe"], standins.tree_hash(manifest), True, manifest["parameters"])
        return Module(arch, str(local), f"local module: {local}", files.sha256_tree(local), False)
    return Module(arch, resolve_handle(handle), f"tfhub: {handle}", files.sha256_bytes(handle.encode()), False)


def resolve_handle(handle: str) -> str:
    """Download (or find in TF Hub's cache) a module; fail within seconds when offline."""
    from ..compat import hub

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(REACH_TIMEOUT_S)
    started = time.perf_counter()
    try:
        return hub().resolve(handle)
    except Exception as exc:
        raise OfflineError(
            f"{handle}: cannot be reached ({type(exc).__name__} after {time.perf_counter() - started:.1f}s); "
            "pass --profile embedded, or --hub-module with a local SavedModel folder"
        ) from exc
    finally:
        socket.setdefaulttimeout(previous)


def keras_layer(module: Module, trainable: bool = False, **kwargs):
    """The module as a Keras layer, exactly as the TF2 tutorial builds it."""
    from ..compat import hub

    return hub().KerasLayer(module.location, trainable=trainable, **kwargs)


def load(module: Module):
    from ..compat import hub

    return hub().load(module.location)
