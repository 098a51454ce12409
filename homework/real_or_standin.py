"""Real or stand-in: what `hw5 run` and `hw5 retrain` are about to read, said before any long
work; and the profile `hw5 retrain` takes when none is given.

The retrain rule (retrain_profile): a profile someone chose (--profile, HW5_PROFILE, a settings
file, or hw5 run's own settings) is kept. Without one, the generated trees keep the embedded
default (stand-in data, stand-in extractor), and a folder of your own photos gets a real
extractor, as the real profile finds it: the codelab's frozen graph in --model_dir or in the
cache (hw5 data --profile real puts it there), else the registry's TF Hub module, cached or
downloaded now. When none is on disk and its host cannot be reached, retrain stops with one
line rather than run a stand-in on real photos.
"""
from __future__ import annotations

import urllib.parse
from typing import Callable, List, Optional, Tuple

from . import catalogue, download
from .data import trees
from .data.images import image_folder
from .data.mnist import generated_by
from .errors import HomeworkError
from .models import modules
from .models.modules import ModuleSource
from .prepare import architectures
from .settings import Settings
from .tasks.retrain_extractor import extractor_source


def retrain_profile(given: Optional[str], generated_tree: bool, real: ModuleSource,
                    reachable: Optional[Callable[[str], bool]] = None) -> str:
    """The profile `hw5 retrain` runs with, by the rule above. `given`: the profile someone
    chose, None for the default; `real`: the extractor the real profile would use;
    `reachable(url)`: whether a download could start (default: the URL's host resolves)."""
    if given:
        return given
    if generated_tree:
        return "embedded"
    if real.fetch_from is None or (reachable or download.host_resolves)(real.fetch_from):
        return "real"
    raise HomeworkError(no_real_extractor(real))


def no_real_extractor(real: ModuleSource, reason: str = "") -> str:
    """The one line for real photos without a real extractor, and the ways out."""
    reason = reason or f"none in the cache, and {urllib.parse.urlsplit(real.fetch_from or '').hostname} cannot be reached"
    fetched_anyway = {arch.name for arch in architectures(Settings())}  # what hw5 data fetches without --architecture
    data = "hw5 data --profile real" + ("" if real.architecture in fetched_anyway else f" --architecture {real.architecture}")
    return (f"your --image_dir photos are real but no real extractor is available offline ({real.architecture}: {reason}): "
            f"pass --profile embedded to use the stand-in (results labelled stand-in), --model_dir with the codelab's graph, "
            f"or run `{data}` first")


def choose_retrain_profile(config, settings: Settings, profile_given: bool,
                           reachable: Optional[Callable[[str], bool]] = None) -> str:
    """retrain_profile for these retrain flags and settings."""
    image_folder(config.image_dir)  # a missing folder is the first thing to say
    real = extractor_source(config, settings.replace(profile="real"))
    return retrain_profile(settings.profile if profile_given else None, trees.is_generated_tree(config.image_dir), real, reachable)


def retrain_lines(config, settings: Settings, chosen_for_photos: bool = False) -> List[str]:
    """What `hw5 retrain` is about to use, real or stand-in: the extractor and the images."""
    source = extractor_source(config, settings)
    generated = trees.is_generated_tree(config.image_dir)
    profile = f"{settings.profile} profile" + (" chosen for your own photos" if chosen_for_photos else "")
    kind, what = _extractor_words(source)
    images = f"{config.image_dir} ({'generated stand-in tree' if generated else 'your folder'})"
    lines = [f"hw5 retrain: extractor {source.architecture} = {kind} ({profile}, {what}) | images: {images}"]
    if source.stand_in and not generated:
        lines.append("hw5 retrain: a stand-in extractor on your own photos: its accuracy says little about a real network's, "
                     "and the results are labelled stand-in")
    return lines


def _extractor_words(source: ModuleSource) -> Tuple[str, str]:
    """("real" or "stand-in", what it is and where)."""
    if source.kind == modules.STAND_IN:
        return "stand-in", "generated pretraining, not ImageNet"
    if source.kind == modules.YOUR_MODULE:
        return ("stand-in", f"--hub-module {source.where} is an hw5 stand-in") if source.stand_in else ("real", f"your module {source.where}")
    if source.kind == modules.TF_HUB:
        return "real", f"TF Hub module {source.where}, {'downloading it first' if source.fetch_from else 'cached'}"
    return "real", f"{source.kind} {source.where}"


def run_lines(settings: Settings) -> List[str]:
    """What `hw5 run` is about to use, one line per input: MNIST, flowers, own images, modules."""
    lines = [f"hw5 run: MNIST = {_mnist(settings)}", f"hw5 run: flowers = {_flowers(settings)}",
             f"hw5 run: own images = {_own_images(settings)}", f"hw5 run: {_modules(settings)}"]
    photos = [str(folder) for folder in (settings.flowers_dir, settings.own_images_dir) if folder is not None]
    stand_ins = [arch.name for arch in architectures(settings) if modules.module_source(arch, settings).stand_in]
    if photos and stand_ins:
        lines.append(f"hw5 run: warning: stand-in modules ({', '.join(stand_ins)}) on your photos ({', '.join(photos)}): "
                     "their accuracies say little about a real network's and answer none of questions 8-12; "
                     "the results are labelled stand-in (--profile real uses the TF Hub modules)")
    return lines


def _mnist(settings: Settings) -> str:
    if settings.mnist_path is not None:
        generator = generated_by(settings.mnist_path)
        if generator:
            return f"stand-in (your file {settings.mnist_path} says it is generated: {generator})"
        return f"real (your file {settings.mnist_path})"
    if settings.profile == "real":
        return f"real (mnist.npz, {_cached_or_fetched(catalogue.MNIST, settings)})"
    return "stand-in (embedded profile, the 5,000 real MNIST digits hw5 ships, not MNIST's 70,000)"


def _flowers(settings: Settings) -> str:
    if settings.flowers_dir is not None:
        return f"real (your folder {settings.flowers_dir})"
    if settings.profile == "real":
        return f"real (flower_photos, {_cached_or_fetched(catalogue.FLOWERS, settings)})"
    return f"stand-in (embedded profile, generated tree, {settings.flowers_images_per_class} images a class)"


def _own_images(settings: Settings) -> str:
    if settings.own_images_dir is not None:
        return f"real (your folder {settings.own_images_dir})"
    if settings.profile == "real":
        return "none (question 10 is skipped: pass --own-images-dir with your photos, one folder per class)"
    return "stand-in (embedded profile, generated tree)"


def _modules(settings: Settings) -> str:
    """'modules A, B = stand-in (...); C = real (...)': the modules grouped by what they are."""
    groups: dict = {}
    for arch in architectures(settings):
        groups.setdefault(_module_words(modules.module_source(arch, settings)), []).append(arch.name)
    return "modules " + "; ".join(f"{', '.join(names)} = {words}" for words, names in groups.items())


def _module_words(source: ModuleSource) -> str:
    if source.kind == modules.STAND_IN:
        return "stand-in (embedded profile, generated pretraining)"
    if source.kind == modules.TF_HUB:
        return f"real (TF Hub, {'to download' if source.fetch_from else 'cached'})"
    kind, what = _extractor_words(source)
    return f"{kind} ({what})"


def _cached_or_fetched(item: catalogue.Item, settings: Settings) -> str:
    return "cached" if catalogue.in_cache(item, settings) else f"to download from {item.url}"
