"""The frozen feature extractor in a TF1 graph, and the bottleneck pass over an image tree.

Every image goes through the extractor at most once per (extractor, image content): its
bottleneck is cached on disk (bottlenecks.py). The pass counts the images it really fed to
the extractor, and its throughput is kept beside the cache, so a later run served entirely
from the cache still reports the speed of a pass that ran.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .. import catalogue
from ..data.images import ImageTree, load_rgb
from ..models import modules
from ..models.frozen import FrozenExtractor, codelab_extractor, codelab_file, freeze_module
from ..models.registry import get_architecture
from ..progress import Progress
from ..resources import release_memory
from ..settings import Settings
from .bottlenecks import BottleneckCache

log = logging.getLogger("hw5")
# Images a forward pass. On 2 CPU cores a batch of 8 runs as fast as 32 (386 against 373 img/s
# for MobileNet 0.50 at 224 px) and keeps `hw5 retrain` within the codelab's memory (863 MB
# peak against 1,011 MB at 32); Inception v3 at 299 px at 32 took the process past 3 GB.
EXTRACT_BATCH = 8
# Grappler makes MobileNet's forward pass 30% faster (373 against 287 img/s) for little memory;
# on Inception v3's 87 MB graph it gains 7% and costs 1.1 GB (2.8 against 1.7 GB peak).
GRAPPLER_MAX_BYTES = 32 * 2**20


def load_extractor(config, settings: Settings) -> FrozenExtractor:
    """The codelab's own graph when --model_dir holds its archive, else the registry's module frozen.
    In the real profile --model_dir defaults to where `hw5 data` puts the codelab's graphs, unless
    --hub-module asks for one module for every architecture."""
    arch = get_architecture(config.architecture)
    return codelab_extractor(arch, _model_dir(config, settings)) or freeze_module(modules.get_module(arch, settings), settings)


def extractor_source(config, settings: Settings) -> modules.ModuleSource:
    """Where load_extractor will take the extractor from, without loading or fetching anything."""
    arch = get_architecture(config.architecture)
    graph = codelab_file(arch, _model_dir(config, settings))
    if graph is not None:
        return modules.ModuleSource(arch.name, modules.CODELAB_GRAPH, str(graph), stand_in=False)
    return modules.module_source(arch, settings)


def _model_dir(config, settings: Settings):
    if config.model_dir is None and settings.profile == "real" and not settings.hub_module:
        return catalogue.codelab_dir(settings)
    return config.model_dir


class Extractor:
    """The frozen extractor in its own TF1 graph and session, behind an image input path:
    uint8 pixels [batch, h, w, 3] -> bilinear resize to the input size -> (x - mean) / std.
    The resize runs in the graph (on the GPU where there is one), so the CPU only decodes."""

    def __init__(self, frozen: FrozenExtractor):
        from ..compat import session_config, tf, v1

        self.frozen = frozen
        self.images_run = 0  # images fed through the network by this object, whatever the cache says
        self.graph = tf.Graph()
        size = frozen.input_size
        with self.graph.as_default():
            self.pixels = v1.placeholder(tf.uint8, [None, None, None, 3], name="hw5_pixels")
            resized = v1.image.resize_bilinear(tf.cast(self.pixels, tf.float32), [size, size])
            normalised = (resized - frozen.input_mean) / frozen.input_std
            (self.bottleneck,) = v1.import_graph_def(frozen.graph_def, input_map={frozen.input_tensor: normalised},
                                                     return_elements=[frozen.bottleneck_tensor], name="")
            declared = self.graph.get_tensor_by_name(frozen.input_tensor).shape
        self.batch = 1 if declared.rank and declared[0] == 1 else EXTRACT_BATCH
        self.session = v1.Session(graph=self.graph, config=session_config(optimize=frozen.graph_def.ByteSize() <= GRAPPLER_MAX_BYTES))

    def run(self, images) -> np.ndarray:
        """Bottlenecks of a batch: one uint8 array, or a list of images of any sizes."""
        if isinstance(images, list):
            shapes = {image.shape for image in images}
            size = self.frozen.input_size
            images = np.stack(images if len(shapes) == 1 else [_resized(image, size) for image in images])
        out = self.session.run(self.bottleneck, {self.pixels: images})
        self.images_run += len(images)
        return out.reshape(len(images), -1)

    def close(self):
        """Close the session and drop the imported graph (closing twice is harmless)."""
        self.session.close()
        self.graph = None
        release_memory()


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


@dataclass(frozen=True)
class Pass:
    """What one bottleneck pass did: the images it fed to the extractor, and the throughput
    of a pass that really computed bottlenecks (this one, or the one that filled the cache)."""

    images: int
    hits: int
    misses: int
    corrupt_rebuilt: int
    extractor_images: int  # counted by the extractor itself
    seconds: float
    images_per_s: float
    throughput_from: str  # "this run" | "cache metadata: <when>" | "probe of N images"

    def as_dict(self) -> dict:
        return {"images": self.images, "hits": self.hits, "misses": self.misses, "corrupt_rebuilt": self.corrupt_rebuilt,
                "extractor_images": self.extractor_images, "throughput_from": self.throughput_from}


def bottleneck_pass(extractor: Extractor, tree: ImageTree, cache: BottleneckCache) -> Tuple[np.ndarray, Pass]:
    """Bottlenecks of every image in tree order, and what the pass did."""
    started = time.perf_counter()
    before = extractor.images_run
    vectors = cache_bottlenecks(extractor, tree, cache)
    seconds = time.perf_counter() - started
    fed = extractor.images_run - before
    if fed >= extractor.batch or (fed and fed == len(tree.entries)):
        rate, source = fed / seconds, "this run"
        stored = cache.throughput()
        if not stored or fed >= stored["images"]:  # the longest pass measured is the one kept
            cache.save_throughput(fed, seconds)
    else:  # (nearly) everything came from the cache: the pass that filled it, or a small timed pass now
        stored = cache.throughput()
        if stored:
            rate, source = stored["images_per_s"], f"cache metadata: {stored['images']} images computed {stored['when']}"
        else:
            rate, count = probe_throughput(extractor, tree)
            source = f"probe of {count} images"
    return vectors, Pass(len(tree.entries), cache.hits, cache.misses, cache.corrupt, fed, seconds, rate, source)


def probe_throughput(extractor: Extractor, tree: ImageTree) -> Tuple[float, int]:
    """Images/s of decode + extract over up to two batches, the first one untimed (warm-up)."""
    entries = tree.entries[: 2 * extractor.batch]
    warm, timed = entries[: extractor.batch], entries[extractor.batch :] or entries[: extractor.batch]
    extractor.run([load_rgb(e.path) for e in warm])
    started = time.perf_counter()
    extractor.run([load_rgb(e.path) for e in timed])
    return len(timed) / (time.perf_counter() - started), len(timed)


def cache_bottlenecks(extractor: Extractor, tree: ImageTree, cache: BottleneckCache) -> np.ndarray:
    """Bottlenecks of every image in tree order: cached ones read, the rest computed in
    batches while the next batch is decoded."""
    vectors = np.zeros((len(tree.entries), extractor.frozen.bottleneck_size), np.float32)
    todo = []
    for index, entry in enumerate(tree.entries):
        cached = cache.get(entry.sha256)
        if cached is None:
            todo.append(index)
        else:
            vectors[index] = cached
    if todo:
        log.info("computing %d bottlenecks (%d cached)", len(todo), len(tree.entries) - len(todo))
    progress = Progress("bottlenecks", len(todo))
    batches = [todo[i : i + extractor.batch] for i in range(0, len(todo), extractor.batch)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # PIL and file I/O release the GIL

        def decode(batch):
            return [pool.submit(load_rgb, tree.entries[i].path) for i in batch]  # native size

        def store(batch, computed):
            for i, vector in zip(batch, computed):
                cache.put(tree.entries[i].sha256, vector)

        pending = decode(batches[0]) if batches else []
        for number, batch in enumerate(batches):
            images = [job.result() for job in pending]
            if number + 1 < len(batches):
                pending = decode(batches[number + 1])  # decoded while this batch runs
            computed = extractor.run(images)
            vectors[batch] = computed
            pool.submit(store, batch, computed)
            progress.advance(len(batch))
    progress.close()
    return vectors
