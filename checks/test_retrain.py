"""Part 2 (TF1): retrain the last layer on cached bottlenecks at three learning rates, export a
frozen graph that labels images, CPU vs GPU, Inception v3's input layer, your own images.

Each graded check stores what it ran in the record and applies its verdict (homework/verdicts.py,
which states every margin) to the record as stored. The checks of the bottleneck cache and of
distortions record what they measured (images through the extractor, cache contents before
and after) as tasks of their own, so the autograder judges them from the record too."""
import dataclasses

import pytest

from homework import files
from homework.data import trees
from homework.data.images import load_image_tree
from homework.tasks import devices, retrain_experiments as experiments
from homework.tasks.bottlenecks import BottleneckCache
from homework.tasks.result import TaskResult
from homework.tasks.retrain import retrain
from homework.tasks.retrain_extractor import load_extractor

CACHE_CHECK_IMAGES = 70  # images of the cache checks' own small tree


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("retrain")


@pytest.fixture(scope="module")
def tree(settings):
    return load_image_tree(trees.flowers(settings).root, settings.validation_percentage, settings.testing_percentage, settings.cache_dir)


@pytest.fixture(scope="module")
def sweep(settings, workdir, store):
    result = experiments.learning_rate_sweep(settings, workdir, echo=lambda line: None)
    store("retrain_learning_rates", result)
    return result


def test_learning_rates_behave_as_the_homework_says(sweep, verdict):
    """0.01 learns, 0.005 needs more steps to reach 0.01's plateau, 1.0 is unstable: read again
    from the recorded whole-validation-set curves (retrain_curves.py states the margins)."""
    verdict("retrain.learning_rates_behave")


def test_every_rate_gives_a_usable_graph_or_recorded_evidence(sweep, verdict):
    verdict("retrain.every_rate_gives_a_usable_graph")


def test_runs_log_like_the_codelab(sweep, verdict):
    verdict("retrain.logs_like_the_codelab")


def test_labels_file_and_summaries(sweep, verdict):
    verdict("retrain.labels_file_and_summaries")


def _pass(run) -> dict:
    cache = run.details["cache"]
    return {**{k: cache[k] for k in ("images", "hits", "misses", "corrupt_rebuilt", "extractor_images", "throughput_from")},
            "images_per_s": run.timings["bottleneck_images_per_s"]}


@pytest.fixture(scope="module")
def cache_evidence(settings, tree, tmp_path_factory, store):
    """A sweep of every rate on a small tree with an empty cache, the same again on the warm cache,
    then once more with one cache file truncated: what the extractor was fed each time."""
    work = tmp_path_factory.mktemp("cache")
    subset = dataclasses.replace(tree, entries=tree.entries[:CACHE_CHECK_IMAGES])
    configs = [experiments.base_config(settings, work, f"lr_{rate:g}", learning_rate=rate, how_many_training_steps=20,
                                       bottleneck_dir=str(work / "bottlenecks")) for rate in settings.learning_rates]
    cold = retrain(configs, settings, tree=subset, echo=lambda line: None)
    warm = retrain(configs, settings, tree=subset, echo=lambda line: None)
    frozen = load_extractor(configs[0], settings)
    victim = BottleneckCache(configs[0].bottleneck_dir, frozen.sha256, frozen.bottleneck_size).path(subset.entries[3].sha256)
    victim.write_bytes(victim.read_bytes()[:-7])
    corrupted = retrain(configs[:1], settings, tree=subset, echo=lambda line: None)
    result = TaskResult.of("retrain_cache", inputs=[frozen, *cold], provenance={"extractor": frozen.identity, "steps": 20},
                           metrics={}, timings={"cold_bottleneck_s": cold[0].timings["bottleneck_s"]},
                           details={"images": len(subset.entries), "rates": len(configs),
                                    "cold": _pass(cold[0]), "warm": _pass(warm[0]), "corrupted": _pass(corrupted[0])})
    store("retrain_cache", result)
    return result


def test_sweep_made_one_bottleneck_pass(cache_evidence, verdict):
    verdict("retrain.one_bottleneck_pass_serves_every_rate")


def test_rerun_reuses_the_cache_and_rebuilds_a_corrupt_entry(cache_evidence, verdict):
    verdict("retrain.corrupt_cache_entry_rebuilt")


def test_cpu_vs_gpu(settings, store, verdict):
    result = devices.cpu_vs_gpu(settings)  # a GPU the driver sees but TensorFlow does not fails here, naming the cause
    store("retrain_cpu_vs_gpu", result)
    verdict("retrain.cpu_vs_gpu")  # no GPU anywhere: skipped, with the reason


def test_inception_input_layer_read_off_the_graph(settings, workdir, store, verdict):
    """The input layer comes from the exported GraphDef by a reader that never sees the registry
    (label_image.inspect_input); TensorFlow itself then confirms it: an image of that size fed
    there gives final_result, an image of another size is refused. The verdict pins the codelab's
    Mul at 299x299. (Inception runs in a child process, which gives its memory back when it ends.)"""
    store("retrain_inception", experiments.in_child_process(experiments.inception, settings, workdir))
    verdict("retrain.inception_input_layer")


def test_own_images_accuracy_against_images_per_class(settings, workdir, store, verdict):
    """Question 10: at each count, several random draws of that many training images per class
    against one fixed held-out set; on the generated fruit tree accuracy must rise."""
    if trees.own_images(settings) is None:
        pytest.skip("question 10 needs your own photos: hw5 run --profile real --own-images-dir PATH (one folder per class)")
    store("retrain_own_images", experiments.own_images(settings, workdir, echo=lambda line: None))
    verdict("retrain.own_images")


def test_distortions_bypass_the_cache(settings, tree, tmp_path, store, verdict):
    """With distortions every training batch is distorted and run through the network; the
    bottleneck cache, filled by an undistorted pass first, is left exactly as it was."""
    subset = dataclasses.replace(tree, entries=tree.entries[:CACHE_CHECK_IMAGES])
    plain = experiments.base_config(settings, tmp_path, "plain", how_many_training_steps=3, bottleneck_dir=str(tmp_path / "bottlenecks"))
    retrain([plain], settings, tree=subset, echo=lambda line: None)  # fills the cache
    before = files.sha256_tree(tmp_path / "bottlenecks")
    config = dataclasses.replace(plain, summaries_dir=str(tmp_path / "distorted"), output_graph=str(tmp_path / "d.pb"),
                                 output_labels=str(tmp_path / "d.txt"), train_batch_size=8,
                                 flip_left_right=True, random_crop=10, random_scale=10, random_brightness=10)
    (run,) = retrain([config], settings, tree=subset, echo=lambda line: None)
    after = files.sha256_tree(tmp_path / "bottlenecks")
    store("retrain_distortions", TaskResult.of(
        "retrain_distortions", inputs=[run], provenance={"distortions": "flip, crop 10%, scale 10%, brightness 10%"},
        metrics={}, timings={"training_s": run.timings["training_s"]},
        details={**run.details["distortion"], "steps": config.how_many_training_steps, "batch": config.train_batch_size,
                 "cache_before": before, "cache_after": after}))
    verdict("retrain.distortions_bypass_the_cache")


def test_benchmark_bottleneck_pass(benchmark, settings, tree):
    """Images per second through the frozen extractor (the phase where a GPU pays off); calibrated rounds."""
    import numpy as np

    from homework.data.images import load_rgb
    from homework.tasks.retrain import RetrainConfig
    from homework.tasks.retrain_extractor import Extractor

    config = RetrainConfig(image_dir=str(tree.root), architecture=settings.architecture)
    extractor = Extractor(load_extractor(config, settings))
    size = extractor.frozen.input_size
    batch = np.stack([load_rgb(entry.path, size) for entry in tree.entries[: extractor.batch]])  # the extractor's own batch size
    extractor.run(batch)  # warm-up: graph optimisation and device initialisation stay out of the timing
    benchmark.extra_info.update(images=len(batch), architecture=settings.architecture, stand_in=settings.profile == "embedded")
    try:
        benchmark(extractor.run, batch)  # returns the bottlenecks as numpy: the device work is finished when the timer stops
    finally:
        extractor.close()
