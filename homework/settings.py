"""One Settings object for every task: profile, paths, sizes, seeds.

Values come from, highest first: CLI flags, environment (HW5_<FIELD>), a YAML file
(--config, HW5_CONFIG, or ./hw5.yaml), then the profile's defaults. The `embedded`
profile runs offline on generated and shipped data with small sizes; `real` uses the TF Hub
modules, mnist.npz and flower_photos (fetched into the cache, catalogue.py, or given by
flags) at the homework's own sizes.
"""
from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml

from .errors import HomeworkError

PROFILES = ("embedded", "real")


def default_cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("HW5_CACHE_DIR"):
        return Path(env["HW5_CACHE_DIR"]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "hw5"


@dataclass(frozen=True)
class Settings:
    profile: str = "embedded"
    cache_dir: Path = field(default_factory=default_cache_dir)
    results_dir: Path = Path("results")
    device_label: Optional[str] = None
    seed: int = 0
    seeds: Tuple[int, ...] = (0, 1, 2)

    # data
    mnist_path: Optional[Path] = None  # a local mnist.npz for the real profile
    flowers_dir: Optional[Path] = None  # a flower_photos folder for the real profile
    hub_module: Optional[str] = None  # a TF Hub handle or local SavedModel instead of the registry's
    flowers_images_per_class: int = 100  # embedded generator: 500 images, so 20% test is 100 images
    flowers_image_px: int = 128  # embedded generator
    mnist_train_limit: int = 0  # 0 = all

    # TF2 tasks
    mnist_epochs: int = 5
    transfer_image_size: int = 96
    transfer_epochs: int = 2
    batch_size: int = 32
    memory_budget_mb: int = 0  # 0 = no budget
    simulate_oom_above: int = 0  # raise TF's OOM error for batches above this (0 = never); exercises the retry path
    l2_values: Tuple[float, ...] = (1e-5, 1e-4, 1e-3)
    dropout_values: Tuple[float, ...] = (0.05, 0.2, 0.5)

    # TF1 retrain
    architecture: str = "mobilenet_0.50_224"
    training_steps: int = 4000  # the homework's; cheap on cached bottlenecks
    learning_rates: Tuple[float, ...] = (0.005, 0.01, 1.0)
    own_images_per_class: Tuple[int, ...] = (3, 6, 12)
    own_images_dir: Optional[Path] = None  # question 10: the student's photos, one folder per class
    validation_percentage: float = 20  # retrain's split of the flowers (the codelab's flags; real: its 10/10)
    testing_percentage: float = 20

    @property
    def stand_in(self) -> bool:
        return self.profile == "embedded"

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def load(
        cls,
        cli: Optional[Mapping[str, Any]] = None,
        env: Mapping[str, str] = os.environ,
        config: Optional[Path] = None,
    ) -> "Settings":
        return resolve(cli, env, config)[0]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str) -> "Settings":
        """Settings from `as_dict()` output (how `hw5 run` hands its resolved settings to pytest)."""
        types = typing.get_type_hints(cls)
        unknown = sorted(set(data) - set(types))
        if unknown:
            raise HomeworkError(f"{source}: unknown setting '{unknown[0]}'")
        return validate(cls(**{key: _coerce(raw, types[key], f"{source}: setting '{key}'") for key, raw in data.items()}),
                        {key: source for key in data})


def resolve(
    cli: Optional[Mapping[str, Any]] = None,
    env: Mapping[str, str] = os.environ,
    config: Optional[Path] = None,
) -> Tuple[Settings, Dict[str, str]]:
    """The settings and, for each field, where its value came from (for the record's provenance)."""
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    config = config or (Path(env["HW5_CONFIG"]) if env.get("HW5_CONFIG") else None)
    if config is None and Path("hw5.yaml").is_file():
        config = Path("hw5.yaml")
    from_file = _read_yaml(config) if config else {}
    from_env = {
        f.name: env[f"HW5_{f.name.upper()}"] for f in fields(Settings) if f"HW5_{f.name.upper()}" in env
    }
    layers = [(f"settings file {config}", from_file), ("environment (HW5_*)", from_env), ("command line", cli)]

    profile = "embedded"
    for _, layer in layers:
        profile = layer.get("profile", profile)
    values: dict = dict(PROFILE_DEFAULTS.get(str(profile), {}))
    sources = {f.name: "default" for f in fields(Settings)}
    sources.update({key: f"profile {profile}" for key in values})
    values["cache_dir"] = default_cache_dir(env)  # HW5_CACHE_DIR comes in as the environment layer below
    types = typing.get_type_hints(Settings)
    for source, layer in layers:
        for key, raw in layer.items():
            if key not in types:
                raise HomeworkError(f"{source}: unknown setting '{key}'")
            values[key] = _coerce(raw, types[key], f"{source}: setting '{key}'")
            sources[key] = source
    settings = Settings(**values)
    if settings.profile not in PROFILES:
        raise HomeworkError(f"setting 'profile' must be one of {', '.join(PROFILES)}, not '{settings.profile}' (from {sources['profile']})")
    validate(settings, sources)
    return settings, sources


POSITIVE = ("flowers_image_px", "mnist_epochs", "transfer_image_size", "transfer_epochs", "batch_size", "training_steps")
NOT_NEGATIVE = ("flowers_images_per_class", "mnist_train_limit", "memory_budget_mb", "simulate_oom_above", "seed")
LISTS = ("seeds", "l2_values", "dropout_values", "learning_rates", "own_images_per_class")


def validate(settings: Settings, sources: Optional[Mapping[str, str]] = None) -> Settings:
    """Every setting within its range, checked once where settings are resolved: one line naming
    the setting, its value and where it came from (a flag, HW5_*, the YAML file)."""
    def fail(name: str, rule: str) -> None:
        where = (sources or {}).get(name, "default")
        raise HomeworkError(f"setting '{name}' = {getattr(settings, name)!r} (from {where}) {rule}")

    for name in POSITIVE:
        if getattr(settings, name) <= 0:
            fail(name, "must be a positive whole number")
    for name in NOT_NEGATIVE:
        if getattr(settings, name) < 0:
            fail(name, "must be 0 or more")
    if settings.profile == "embedded" and settings.flowers_images_per_class == 0 and settings.flowers_dir is None:
        fail("flowers_images_per_class", "must be positive in the embedded profile (it sizes the generated flowers)")
    for name in LISTS:
        if not getattr(settings, name):
            fail(name, "must list at least one value")
    if any(s < 0 for s in settings.seeds):
        fail("seeds", "must be whole numbers, 0 or more")
    if any(not (0 < r < float("inf")) for r in settings.learning_rates):
        fail("learning_rates", "must be positive numbers")
    if any(n <= 0 for n in settings.own_images_per_class):
        fail("own_images_per_class", "must be positive whole numbers")
    if any(not (0 <= v < float("inf")) for v in settings.l2_values):
        fail("l2_values", "must be 0 or more")
    if any(not (0 <= v < 1) for v in settings.dropout_values):
        fail("dropout_values", "must each lie in [0, 1)")
    for name in ("validation_percentage", "testing_percentage"):
        if not (0 <= getattr(settings, name) < 100):
            fail(name, "must be a percentage in [0, 100)")
    if settings.validation_percentage + settings.testing_percentage >= 100:
        fail("testing_percentage", f"plus validation_percentage {settings.validation_percentage:g} leaves no training images (must sum below 100)")
    return settings


# The homework's own sizes for the real profile; the embedded profile keeps the small class defaults.
PROFILE_DEFAULTS = {
    "embedded": {},
    "real": {
        "transfer_image_size": 224,
        "training_steps": 4000,
        "flowers_images_per_class": 0,
        "own_images_per_class": (5, 10, 20),
        "validation_percentage": 10,
        "testing_percentage": 10,
        # Full size on an 8 GB Jetson: the transfer task's batches are chosen to fit 1 GB of
        # activations (fine-tuning 4, frozen 8 at 224 px), which keeps every task under 3 GB
        # of RAM next to the GPU's share (at 1.5 GB, batches 8 / 16, checks/test_transfer.py
        # peaked at 3.07 GB); 0 lifts it (a GPU PC with memory to spare).
        "memory_budget_mb": 1024,
    },
}


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as exc:
        raise HomeworkError(f"{path}: cannot read settings file ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise HomeworkError(f"{path}: not UTF-8 text (a settings file is YAML)") from None
    except yaml.YAMLError as exc:
        raise HomeworkError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict):
        raise HomeworkError(f"{path}: settings file must be a mapping of setting: value")
    return data


def _coerce(raw: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union:  # Optional[X]
        if raw is None or (isinstance(raw, str) and raw.lower() in ("", "none")):
            return None
        return _coerce(raw, next(a for a in args if a is not type(None)), where)
    if origin in (tuple, Tuple):
        items = raw.split(",") if isinstance(raw, str) else list(raw if isinstance(raw, (list, tuple)) else [raw])
        return tuple(_coerce(i.strip() if isinstance(i, str) else i, args[0], where) for i in items if i != "")
    try:
        if annotation is bool:
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
        if annotation is Path:
            return Path(str(raw)).expanduser()
        if annotation is int:
            return _whole_number(raw)
        if annotation is float and isinstance(raw, bool):
            raise ValueError(raw)
        value = annotation(raw)
        if annotation is float and value != value:  # NaN
            raise ValueError(raw)
        return value
    except (TypeError, ValueError) as exc:
        kind = {"int": "a whole number", "float": "a number"}.get(getattr(annotation, "__name__", ""), getattr(annotation, "__name__", annotation))
        raise HomeworkError(f"{where} must be {kind}, got {raw!r}") from exc


def _whole_number(raw: Any) -> int:
    """An int from a flag, an environment variable or YAML; 1.9, "1.9", true and "" are refused, never rounded."""
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, float):
        if not raw.is_integer():
            raise ValueError(raw)
        return int(raw)
    if isinstance(raw, int):
        return raw
    return int(str(raw).strip())


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


# --- hw5 run -> pytest: the resolved settings, handed over unchanged ------------------

def write_handoff(path: Path, settings: Settings, sources: Mapping[str, str], run_id: str) -> None:
    from . import files

    files.write_json(path, {"settings": settings.as_dict(), "sources": dict(sources), "run_id": run_id})


def read_handoff(path: Path) -> Tuple[Settings, Dict[str, str], str]:
    """(settings, where each came from, run id) from a file `write_handoff` wrote."""
    import json

    try:
        data = json.loads(Path(path).read_text())
        settings, sources, run_id = data["settings"], data["sources"], data["run_id"]
    except OSError as exc:
        raise HomeworkError(f"{path}: cannot read the run's settings ({exc.strerror})") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise HomeworkError(f"{path}: not a settings file written by hw5 run ({type(exc).__name__}: {exc})") from exc
    if not isinstance(settings, dict) or not isinstance(sources, dict) or not isinstance(run_id, str):
        raise HomeworkError(f"{path}: not a settings file written by hw5 run")
    return Settings.from_dict(settings, str(path)), {str(k): str(v) for k, v in sources.items()}, run_id


def inapplicable(settings: Settings, sources: Mapping[str, str]) -> "list[str]":
    """One line for each setting given (flag, HW5_*, YAML) that this run cannot use."""
    given = {name for name, source in sources.items() if source != "default" and not source.startswith("profile ")}
    generated_flowers = settings.profile == "embedded" and settings.flowers_dir is None
    generated_own = settings.profile == "embedded" and getattr(settings, "own_images_dir", None) is None
    notes = []
    if "flowers_images_per_class" in given and not generated_flowers:
        notes.append(f"flowers_images_per_class ({sources['flowers_images_per_class']}) has no effect: it sizes the generated "
                     f"flowers tree, and this run reads {settings.flowers_dir or 'the real flower_photos'}")
    if "flowers_image_px" in given and not (generated_flowers or generated_own):
        notes.append(f"flowers_image_px ({sources['flowers_image_px']}) has no effect: it sizes generated images, and this run "
                     "generates none (real profile, or --flowers-dir and --own-images-dir given)")
    return notes
