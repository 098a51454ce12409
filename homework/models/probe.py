"""Linear probes: how much a frozen feature vector knows about an image tree.

A k-fold (stratified) multinomial logistic regression on standardised features, in numpy
only (no scikit-learn on the Jetsons). Used to check that a stand-in module's features
carry the flower classes (and that a colour histogram alone does not).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import HomeworkError

HISTOGRAM_BINS = 8  # per RGB channel: a 24-bin colour histogram
# What a stand-in's probe must reach on the generated flowers (chance is 0.2), and what a
# colour histogram must not: the task has to need the network.
TARGETS = {"mobilenet_v1": 0.85, "mobilenet_v2": 0.85, "inception_v3": 0.75}
HISTOGRAM_MAX = 0.60


def colour_histogram(images: np.ndarray, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """Per-channel histograms (bins per channel, normalised) of float [0, 1] images (N, H, W, 3)."""
    index = np.clip((images * bins).astype(np.int64), 0, bins - 1)
    out = np.empty((len(images), 3 * bins), np.float32)
    for c in range(3):
        flat = index[..., c].reshape(len(images), -1)
        counts = np.stack([np.bincount(row, minlength=bins) for row in flat])
        out[:, c * bins:(c + 1) * bins] = counts / flat.shape[1]
    return out


def stratified_folds(labels: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """Fold number of each sample, each class dealt round-robin over the folds after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), np.int64)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        fold[members] = np.arange(len(members)) % folds
    return fold


def fit_logistic(x: np.ndarray, y: np.ndarray, classes: int, l2: float = 1e-2, steps: int = 300) -> np.ndarray:
    """Multinomial logistic regression (weights with a bias row) by Nesterov-accelerated gradient descent.
    x must be standardised; the step comes from the loss's Lipschitz bound, so no tuning is needed."""
    n = len(x)
    xb = np.hstack([x, np.ones((n, 1), x.dtype)]).astype(np.float64)
    onehot = np.eye(classes)[y]
    lipschitz = 0.5 * np.linalg.norm(xb, 2) ** 2 / n + l2
    step = 1.0 / lipschitz
    w = np.zeros((xb.shape[1], classes))
    v, t = w.copy(), 1.0
    for _ in range(steps):
        logits = xb @ v
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        grad = xb.T @ (p - onehot) / n + l2 * v
        w_next = v - step * grad
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        v = w_next + (t - 1) / t_next * (w_next - w)
        w, t = w_next, t_next
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (np.hstack([x, np.ones((len(x), 1), x.dtype)]) @ w).argmax(1)


def _standardise(train: np.ndarray, test: np.ndarray):
    mean, std = train.mean(0), train.std(0) + 1e-6
    return (train - mean) / std, (test - mean) / std


def train_test_accuracy(x_train, y_train, x_test, y_test, classes: int) -> float:
    a, b = _standardise(np.asarray(x_train, np.float64), np.asarray(x_test, np.float64))
    return float((predict(fit_logistic(a, np.asarray(y_train), classes), b) == np.asarray(y_test)).mean())


def kfold_accuracy(features: np.ndarray, labels: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Mean held-out accuracy of a logistic regression over stratified folds."""
    labels = np.asarray(labels)
    classes = int(labels.max()) + 1
    fold = stratified_folds(labels, folds, seed)
    correct = 0
    for k in range(folds):
        test = fold == k
        correct += train_test_accuracy(features[~test], labels[~test], features[test], labels[test], classes) * test.sum()
    return float(correct / len(labels))


# --- Probing a feature-vector module on the generated trees -----------------------------

FOLDS = 5
FEW_SHOT_REPEATS = 10
BATCH = 16  # images a forward pass: keeps Inception at 299 px well inside the memory budget


def tree_arrays(root: Path) -> Tuple[List[Path], np.ndarray, List[str]]:
    """The tree's JPEG paths in (class, file name) order, their labels and the class names."""
    labels = sorted(p.name for p in root.iterdir() if p.is_dir())
    paths, targets = [], []
    for index, label in enumerate(labels):
        found = sorted((root / label).glob("*.jpg"))
        paths += found
        targets += [index] * len(found)
    if len(labels) < 2 or not paths:
        raise HomeworkError(f"{root}: needs at least two class folders of .jpg images to probe")
    return paths, np.array(targets), labels


def load_images(paths: Sequence[Path]) -> np.ndarray:
    from ..data.images import load_rgb

    return np.stack([load_rgb(p) for p in paths]).astype(np.float32) / 255.0


def tree_features(model, paths: Sequence[Path], px: int) -> Tuple[np.ndarray, np.ndarray]:
    """(pooled features at px, colour histograms) of the images at `paths`, decoded BATCH at a
    time: a full-size tree (3,670 photos) never sits in memory decoded."""
    from ..compat import tf

    features, histograms = [], []
    for start in range(0, len(paths), BATCH):
        images = load_images(paths[start:start + BATCH])
        features.append(np.asarray(model(tf.image.resize(images, (px, px)))))
        histograms.append(colour_histogram(images))
    return np.concatenate(features), np.concatenate(histograms)


def few_shot_repeated(features, labels, counts, held_out, repeats=FEW_SHOT_REPEATS, seed=0) -> Dict[int, float]:
    """few-shot accuracy on each class's last `held_out` images, training on n images drawn at
    random from the others, averaged over `repeats` draws (the test set is small)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    classes = int(labels.max()) + 1
    test = np.zeros(len(labels), bool)
    pools = []
    for label in range(classes):
        members = np.flatnonzero(labels == label)
        test[members[-held_out:]] = True
        pools.append(members[:-held_out])
    result = {}
    for n in counts:
        scores = []
        for _ in range(repeats):
            train = np.concatenate([rng.choice(pool, n, replace=False) for pool in pools])
            scores.append(train_test_accuracy(features[train], labels[train], features[test], labels[test], classes))
        result[int(n)] = round(float(np.mean(scores)), 4)
    return result


def probe_module(model, px: int, flowers_root: Path, own_root: Optional[Path], own_counts, own_held_out: int) -> dict:
    """The probe record stored in a stand-in's manifest: 5-fold logistic regression on frozen
    features of the flowers tree at px, the same on a colour histogram, and few-shot accuracy
    on the own-images tree."""
    started = time.perf_counter()
    paths, labels, names = tree_arrays(flowers_root)
    features, histograms = tree_features(model, paths, px)
    record = {
        "image_px": px,
        "images": len(paths),
        "classes": names,
        "folds": FOLDS,
        "accuracy": round(kfold_accuracy(features, labels, FOLDS), 4),
        "colour_histogram": round(kfold_accuracy(histograms, labels, FOLDS), 4),
    }
    if own_root is not None:
        paths, labels, _ = tree_arrays(own_root)
        features, _ = tree_features(model, paths, px)
        record["own_images"] = {str(k): v for k, v in few_shot_repeated(features, labels, own_counts, own_held_out).items()}
        record["own_images_held_out"] = own_held_out
    record["seconds"] = round(time.perf_counter() - started, 2)
    return record
