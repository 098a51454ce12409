"""The linear probe that checks the stand-ins' features: it must find signal where there is
some, report chance where there is none, and keep folds stratified."""
import numpy as np

from homework.models import probe


def _blobs(n_per_class, classes, dims, separation, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, separation, (classes, dims))
    labels = np.repeat(np.arange(classes), n_per_class)
    return centres[labels] + rng.normal(0, 1, (len(labels), dims)), labels


def test_separable_features_are_found():
    x, y = _blobs(40, 5, 64, separation=1.5)
    assert probe.kfold_accuracy(x, y) > 0.95


def test_noise_features_give_chance():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(400, 64)), np.repeat(np.arange(5), 80)
    assert abs(probe.kfold_accuracy(x, y) - 0.2) < 0.1


def test_folds_are_stratified():
    labels = np.repeat(np.arange(5), [20, 20, 20, 20, 21])
    fold = probe.stratified_folds(labels, 5)
    for k in range(5):
        counts = np.bincount(labels[fold == k], minlength=5)
        assert counts.min() >= 4 and counts.max() <= 5


def test_colour_histogram_counts_each_channel():
    images = np.zeros((2, 4, 4, 3), np.float32)
    images[1, ..., 0] = 1.0
    h = probe.colour_histogram(images)
    assert h.shape == (2, 24) and np.allclose(h.reshape(2, 3, 8).sum(-1), 1)
    assert h[0, 0] == 1 and h[1, 7] == 1


def test_few_shot_accuracy_rises_with_training_images():
    x, y = _blobs(46, 3, 32, separation=0.35, seed=2)
    result = probe.few_shot_repeated(x, y, (1, 12), held_out=34)
    assert result[12] > result[1] + 0.1, result
