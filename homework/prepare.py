"""`hw5 data`: put every data set and module the homework needs into the cache.
Idempotent: what is present and intact is kept, what is missing or corrupt is rebuilt
(embedded profile) or fetched again (real profile, catalogue.py). Each step says how its item
got ready; a step that cannot make its item ready is reported as failed, with the one-line
reason, and the other steps still run."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from . import catalogue, files
from .data import trees
from .data.mnist import load_mnist
from .models import frozen, modules, probe, standins
from .errors import HomeworkError
from .resources import in_child, release_memory
from .models.registry import INCEPTION_V3, MOBILENET_V2, get_architecture
from .settings import Settings
from .tasks.result import TaskResult


SEVERAL = "several"  # the state of a step whose detail is the list of steps it made


@dataclass(frozen=True)
class Step:
    name: str
    state: str  # built | cached | ready | fetched | placed by hand | failed
    seconds: float
    detail: str  # for a failed step, the one-line reason and how to place the item by hand
    optional: bool = False  # the homework runs without it (hw5 retrain then freezes the TF Hub module)


def architectures(settings: Settings):
    """The TF2 transfer module, the retrain architecture and Inception v3 (questions 12-13)."""
    chosen = [MOBILENET_V2, get_architecture(settings.architecture), INCEPTION_V3]
    return list({a.name: a for a in chosen}.values())


def _tree_step(source: trees.TreeSource, state: str = "", note: str = "") -> Tuple[str, str]:
    count = sum(1 for _ in source.root.rglob("*.jpg"))
    size = sum(p.stat().st_size for p in source.root.rglob("*.jpg"))
    state = state or (("built" if source.built else "cached") if source.stand_in else "ready")
    note = f"; {note}" if note else ""
    return state, f"{count} images, {size / 1e6:.1f} MB, {source.identity} at {source.root}{note}"


def _flowers_step(settings: Settings) -> Tuple[str, str]:
    if settings.flowers_dir:
        source = trees.flowers(settings)
        return _tree_step(source, "placed by hand", catalogue.compare_flowers(source.root))
    if settings.profile == "real":
        placed = catalogue.place(catalogue.FLOWERS, settings)
        return _tree_step(trees.flowers(settings), placed.state, " ".join(filter(None, [placed.note, catalogue.compare_flowers(placed.path)])))
    return _tree_step(trees.flowers(settings))


def _mnist_step(settings: Settings) -> Tuple[str, str]:
    state, note = "ready", ""
    if settings.mnist_path is None and settings.profile == "real":
        placed = catalogue.place(catalogue.MNIST, settings)
        state, note = placed.state, placed.note
    data = load_mnist(settings)
    if settings.mnist_path is not None:
        state, note = "placed by hand", catalogue.compare_mnist(settings.mnist_path)
    note = f"; {note}" if note else ""
    return state, f"{len(data.y_train)} train + {len(data.y_test)} test digits, {data.source}{note}"


def _module_step(settings: Settings, arch) -> Tuple[str, str]:
    download = modules.hub_download(arch, settings)
    placed = catalogue.place(download, settings) if download else None
    cached = settings.profile == "embedded" and bool(standins.verify(modules.standin_dir(settings, arch)))
    module = modules.get_module(arch, settings)
    params = f"{module.parameters:,} parameters, " if module.parameters else ""
    if placed:
        state = placed.state
    elif module.stand_in and not settings.hub_module:
        state = "cached" if cached else "built"
    else:
        state = "placed by hand"
    return state, f"{params}{module.identity} at {module.location}"


def _codelab_step(settings: Settings, arch) -> Tuple[str, str]:
    placed = catalogue.place(catalogue.codelab_graph(arch.codelab), settings)
    note = f"; {placed.note}" if placed.note else ""
    return placed.state, f"{placed.path} (hw5 retrain's default --model_dir in the real profile){note}"


def probe_px(settings: Settings, arch) -> int:
    """The size the tasks feed this module: the TF2 transfer task's image size for its
    MobileNetV2, the codelab's input size (the JPEGs resized up in the graph) for retrain."""
    return settings.transfer_image_size if arch.name == MOBILENET_V2.name else arch.input_size


PROBES_KEPT = 6  # probe records kept in a manifest (one per flowers tree / own tree / size seen)


def module_probe(settings: Settings, arch, module: Optional[modules.Module] = None) -> Tuple[bool, dict]:
    """(computed now?, probe record) for the stand-in of `arch` on the current generated trees.
    Stored in the stand-in's manifest under the trees' identities and the image size, so it is
    computed once per module build and recomputed whenever the module or the data changes.
    `module`: get_module's answer when the caller has it (it has just verified the files)."""
    module = module or modules.get_module(arch, settings)
    if not module.stand_in:
        raise ValueError(f"{arch.name}: only stand-in modules are probed")
    path = Path(module.location)
    manifest = json.loads((path / standins.MANIFEST).read_text())
    flowers, own = trees.flowers(settings), trees.own_images(settings)
    # the student's own photos are not probed; and only question 10's architecture is retrained on them
    own = own if own is not None and own.stand_in and arch == get_architecture(settings.architecture) else None
    px = probe_px(settings, arch)
    # keyed by the module's content hash as well: a rebuilt or edited module is probed again
    key = f"module {module.sha256[:16]}: {flowers.identity} + {own.identity if own else 'no own images'} at {px}px"
    probes = manifest.get("probes", {})
    if key in probes:
        return False, probes[key]
    record = in_child(_probe, module, px, flowers.root, own.root if own else None, settings.own_images_per_class,
                      gpu_memory_mb=settings.memory_budget_mb)  # in a child: the loaded module's memory goes back
    record.update(flowers=flowers.identity, own=own.identity if own else None, module_sha256=module.sha256)
    kept = dict(list(probes.items())[-(PROBES_KEPT - 1):])
    manifest["probes"] = {**kept, key: record}
    files.write_json(path / standins.MANIFEST, manifest)
    return True, record


def _probe(module: modules.Module, px: int, flowers_root, own_root, counts) -> dict:
    return probe.probe_module(modules.load(module), px, flowers_root, own_root, counts, trees.OWN_HELD_OUT)


def _probe_step(settings: Settings, arch) -> Tuple[str, str]:
    computed, r = module_probe(settings, arch)
    own = ", ".join(f"{n}: {a:.2f}" for n, a in r.get("own_images", {}).items())
    return ("built" if computed else "cached"), (
        f"flowers {r['accuracy']:.3f} ({r['folds']}-fold logistic regression, {r['images']} images at {r['image_px']}px; "
        f"colour histogram {r['colour_histogram']:.3f})" + (f"; own images a class -> accuracy {own}" if own else "")
    )


def _standin_steps(settings: Settings, arch) -> Tuple[str, List[Step]]:
    """A stand-in module built (or verified), frozen and probed, each its own step; a step that
    fails ends the list. Freezing needs the most memory (Inception v3: about 1.1 GB over what the
    process holds), so it comes before the probe, and the heap is trimmed after each step."""
    steps: List[Step] = []
    for name, action in ((f"module {arch.name}", _module_step), (f"frozen graph {arch.name}", _frozen_step),
                         (f"probe {arch.name}", _probe_step)):
        steps.append(_timed(name, lambda action=action: action(settings, arch)))
        release_memory()
        if steps[-1].state == "failed":
            break
    return SEVERAL, steps


def _timed(name: str, action: Callable, optional: bool = False) -> Step:
    """One step: action() -> (state, detail), timed; its HomeworkError is the failed step's detail."""
    started = time.perf_counter()
    try:
        state, detail = action()
    except HomeworkError as exc:
        state, detail = "failed", str(exc)
    return Step(name, state, time.perf_counter() - started, detail, optional)


def _frozen_step(settings: Settings, arch) -> Tuple[str, str]:
    """The TF1 frozen graph the retrain (and the transfer's memory estimate) read, made now, while the
    process that would otherwise freeze it inside a task is still small."""
    module = modules.get_module(arch, settings)
    path = frozen.frozen_path(module, settings)
    made = not path.is_file()
    extractor = frozen.freeze_module(module, settings)
    return ("built" if made else "cached"), f"{path.name}: {extractor.input_tensor} -> {extractor.bottleneck_size} features"


def prepare(settings: Settings, progress: Optional[Callable[[int, int, str], None]] = None) -> List[Step]:
    plan = [("MNIST", lambda: _mnist_step(settings), False)]
    plan.append(("flowers tree", lambda: _flowers_step(settings), False))
    if settings.profile == "embedded":
        plan.append(("own-images tree", lambda: _tree_step(trees.own_images(settings)), False))
    for arch in architectures(settings):
        if settings.profile == "embedded" and not settings.hub_module:
            # one child process per stand-in: built, frozen and probed with one TensorFlow start-up,
            # and all it loaded goes back to the system when it ends
            plan.append((f"module {arch.name}", lambda arch=arch: in_child(_standin_steps, settings, arch, gpu_memory_mb=settings.memory_budget_mb), False))
        else:
            plan.append((f"module {arch.name}", lambda arch=arch: _module_step(settings, arch), False))
    if settings.profile == "real" and not settings.hub_module:  # with --hub-module, retrain uses that module
        for arch in architectures(settings):
            if arch.codelab:
                plan.append((f"codelab graph {arch.name}", lambda arch=arch: _codelab_step(settings, arch), True))

    steps: List[Step] = []
    for index, (name, action, optional) in enumerate(plan):
        if progress:
            progress(index, len(plan), name)
        step = _timed(name, action, optional)
        steps.extend(step.detail if step.state == SEVERAL else [step])  # a stand-in's steps come back together
    if progress:
        progress(len(plan), len(plan), "done")
    return steps


def failed(steps: List[Step], optional_too: bool = True) -> List[Step]:
    return [s for s in steps if s.state == "failed" and (optional_too or not s.optional)]


def require(steps: List[Step]) -> None:
    """Raise one line for the first required step that failed (naming the others)."""
    missing = failed(steps, optional_too=False)
    if missing:
        others = f" (also not ready: {', '.join(s.name for s in missing[1:])})" if len(missing) > 1 else ""
        raise HomeworkError(f"{missing[0].name}: {missing[0].detail}{others}")


def describe_inputs(settings: Settings) -> TaskResult:
    """What the homework's tasks will read: recorded so every later number has a source."""
    from .data.images import load_image_tree

    started = time.perf_counter()
    steps = prepare(settings)
    require(steps)
    prepared = time.perf_counter() - started
    mnist = load_mnist(settings)
    flowers = trees.flowers(settings)
    tree = load_image_tree(flowers.root, cache_dir=settings.cache_dir)
    mods = [modules.get_module(a, settings) for a in architectures(settings)]
    probes = {a.name: module_probe(settings, a, m)[1] for a, m in zip(architectures(settings), mods) if m.stand_in and settings.profile == "embedded" and not settings.hub_module}
    probe_metrics = {f"probe_{name}": r["accuracy"] for name, r in probes.items()}
    for name, r in probes.items():
        probe_metrics["probe_colour_histogram"] = r["colour_histogram"]
        probe_metrics.update({f"probe_{name}_own_images_{n}": a for n, a in r.get("own_images", {}).items()})
    return TaskResult.of(
        "inputs",
        inputs=[mnist, flowers, *mods],
        provenance={
            "mnist": mnist.describe(),
            "flowers": {"identity": flowers.identity, "stand_in": flowers.stand_in, **tree.describe()},
            "modules": [m.provenance() for m in mods],
            "probes": probes,
        },
        metrics={"flowers_classes": len(tree.labels), "flowers_images": len(tree.entries), "mnist_train": len(mnist.y_train), "mnist_test": len(mnist.y_test), **probe_metrics},
        timings={"prepare_s": round(prepared, 3), **{f"{s.name}_s": round(s.seconds, 3) for s in steps}},
    )
