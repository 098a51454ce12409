"""Part 2 (TF1): retrain the last layer on cached bottlenecks at three learning rates, export a
frozen graph that labels images, CPU vs GPU, Inception v3's input layer, your own images."""
import pytest

from homework.data import trees
from homework.data.images import load_image_tree
from homework.tasks import devices, retrain_experiments as experiments
from homework.tasks.retrain import RetrainConfig, retrain


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("retrain")


@pytest.fixture(scope="module")
def sweep(settings, workdir, store):
    result = experiments.learning_rate_sweep(settings, workdir, echo=lambda line: None)
    store("retrain_learning_rates", result)
    return result


@pytest.mark.weight(2)
def test_every_rate_gives_a_usable_graph_or_recorded_evidence(sweep, settings):
    assert set(sweep.details["checks"]) == {f"{rate:g}" for rate in settings.learning_rates}
    for rate, check in sweep.details["checks"].items():
        metrics = sweep.details["rates"][rate]
        if check["usable"]:
            assert len(check["top"]) == min(5, len(sweep.details["runs"][0].details["labels"])) and 0.99 < sum(s for _, s in check["top"]) <= 1.01
        else:  # a failed graph must come with its evidence
            assert check["error"] and (metrics["diverged"] or metrics["oscillating"]), (rate, check, metrics)


def test_runs_log_like_the_codelab(sweep, settings):
    steps = settings.training_steps
    expected = len([i for i in range(steps) if i % 10 == 0 or i + 1 == steps])  # 401 for 4000 steps
    for run in sweep.details["runs"]:
        assert run.metrics["evaluations"] == expected == len(run.details["curves"]["validation_accuracy"])
        assert run.details["curves"]["step"][-1] == steps - 1
        assert 0 < run.metrics["steps_to_plateau"] <= steps


def test_labels_file_and_summaries(sweep):
    from pathlib import Path

    run = sweep.details["runs"][0]
    assert Path(run.artifacts["output_labels"]).read_text() == "daisy\ndandelion\nroses\nsunflowers\ntulips\n"
    for folder in ("train", "validation"):
        assert any((Path(run.artifacts["summaries_dir"]) / folder).glob("events.out.tfevents.*"))


def test_sweep_made_one_bottleneck_pass(sweep):
    caches = [run.details["cache"] for run in sweep.details["runs"]]
    assert all(c == caches[0] for c in caches)  # one pass shared by every rate
    assert caches[0]["hits"] + caches[0]["misses"] + caches[0]["corrupt_rebuilt"] == caches[0]["images"]


def test_rerun_reuses_the_cache_and_rebuilds_a_corrupt_entry(sweep, settings, workdir):
    tree = load_image_tree(trees.flowers(settings).root, cache_dir=settings.cache_dir)
    config = experiments.base_config(settings, workdir, "rerun", how_many_training_steps=20)
    from homework.tasks.bottlenecks import BottleneckCache
    from homework.tasks.retrain_extractor import load_extractor

    frozen = load_extractor(config, settings)
    victim = BottleneckCache(config.bottleneck_dir, frozen.sha256, frozen.bottleneck_size).path(tree.entries[3].sha256)
    victim.write_bytes(victim.read_bytes()[:-7])
    (run,) = retrain([config], settings, tree=tree, echo=lambda line: None)
    cache = run.details["cache"]
    assert cache["corrupt_rebuilt"] == 1 and cache["hits"] == len(tree.entries) - 1 and cache["misses"] == 0 and cache["extractor_images"] == 1


def test_cpu_vs_gpu(settings, store):
    result = devices.cpu_vs_gpu(settings)
    store("retrain_cpu_vs_gpu", result)
    assert result.details["legs"]["cpu"]["gpus_visible"] == 0 and result.details["legs"]["cpu"]["bottleneck_s"] > 0
    from homework.compat import gpus

    if gpus:
        assert result.metrics["gpu_ran"] and result.details["legs"]["gpu"]["gpus_visible"] > 0
    else:
        assert "no GPU" in result.details["legs"]["gpu"]["skipped"] and not result.metrics["gpu_ran"]


@pytest.mark.weight(2)
def test_inception_input_layer_read_off_the_graph(settings, workdir, store):
    result = experiments.inception(settings, workdir, echo=lambda line: None)
    store("retrain_inception", result)
    assert tuple(result.details["input_layer"].values()) == ("Mul", 299, 299)
    assert result.details["checks"]["label_with_inspected_input"]["usable"]
    failure = result.details["checks"]["label_with_mobilenet_defaults"]
    assert not failure["usable"] and "Mul" in failure["error"] and "299x299" in failure["error"] and "\n" not in failure["error"]


def test_own_images_accuracy_against_images_per_class(settings, workdir, store):
    result = experiments.own_images(settings, workdir, echo=lambda line: None)
    store("retrain_own_images", result)
    rows = result.details["rows"]
    assert [row["images_per_class"] for row in rows] == sorted(settings.own_images_per_class)
    assert all(row["test_images"] == 3 * experiments.OWN_HELD_OUT and 0 <= row["final_test_accuracy"] <= 1 for row in rows)


def test_distortions_bypass_the_cache(settings, workdir):
    tree = load_image_tree(trees.flowers(settings).root, cache_dir=settings.cache_dir)
    config = experiments.base_config(settings, workdir, "distorted", how_many_training_steps=3, train_batch_size=8,
                                     flip_left_right=True, random_crop=10, random_scale=10, random_brightness=10)
    assert isinstance(config, RetrainConfig) and config.distorted
    (run,) = retrain([config], settings, tree=tree, echo=lambda line: None)
    assert run.provenance["distortions"] and run.metrics["evaluations"] == 2


@pytest.mark.weight(0)  # timing, not graded
def test_benchmark_bottleneck_pass(benchmark, settings):
    """Images per second through the frozen extractor (the phase where a GPU pays off); calibrated rounds."""
    import numpy as np

    from homework.data.images import load_rgb
    from homework.tasks.retrain_extractor import Extractor, load_extractor

    tree = load_image_tree(trees.flowers(settings).root, cache_dir=settings.cache_dir)
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
