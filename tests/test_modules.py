"""Stand-in modules load through the same hub calls as the real handles, fine-tune, and the
offline path never touches the network."""
import shutil
import time

import numpy as np
import pytest

from homework.errors import OfflineError
from homework.models import modules, standins
from homework.models.registry import get_architecture

ARCH = "mobilenet_0.50_224"  # the retrain default, built by hw5 data anyway


def test_offline_path_never_touches_the_network(settings, no_network):
    from homework.data import trees
    from homework.data.images import load_image_tree
    from homework.data.mnist import load_mnist

    load_mnist(settings)
    load_image_tree(trees.flowers(settings).root)
    module = modules.get_module(ARCH, settings)
    layer = modules.keras_layer(module)
    assert layer(np.zeros((1, 64, 64, 3), np.float32)).shape == (1, 512)
    assert no_network == []


def test_standin_loads_through_hub_calls_and_says_stand_in(settings):
    module = modules.get_module(ARCH, settings)
    assert module.stand_in and "stand-in" in module.identity and module.parameters > 100_000
    loaded = modules.load(module)
    out = loaded(np.random.rand(2, 96, 96, 3).astype(np.float32))
    assert out.shape == (2, 512) and np.isfinite(out.numpy()).all()
    assert np.std(out.numpy()) > 0  # features are not constant


@pytest.mark.parametrize("trainable", [False, True])
def test_standin_fine_tunes_only_when_trainable(settings, trainable):
    from homework.compat import keras

    keras.utils.set_random_seed(0)
    module = modules.get_module(ARCH, settings)
    layer = modules.keras_layer(module, trainable=trainable)
    model = keras.Sequential([keras.Input((64, 64, 3)), layer, keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [w.numpy().copy() for w in layer.weights]
    rng = np.random.default_rng(0)
    model.fit(rng.random((16, 64, 64, 3), dtype=np.float32), rng.integers(0, 3, 16), epochs=1, batch_size=8, verbose=0)
    changed = [not np.allclose(a, b.numpy()) for a, b in zip(before, layer.weights)]
    assert any(changed) == trainable
    assert (len(layer.trainable_weights) > 0) == trainable


def test_corrupt_standin_is_detected(settings, tmp_path):
    import shutil

    source = modules.standin_dir(settings, get_architecture(ARCH))
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    assert standins.verify(copy)
    variables = next(copy.glob("variables/variables.data*"))
    variables.write_bytes(variables.read_bytes()[:-10])
    assert standins.verify(copy) == {}


def test_real_handle_offline_fails_fast_with_one_line(settings, no_network):
    started = time.perf_counter()
    with pytest.raises(OfflineError) as err:
        modules.get_module(ARCH, settings.replace(profile="real"))
    assert time.perf_counter() - started < 5
    assert "--profile embedded" in str(err.value) and "\n" not in str(err.value)


def test_local_module_path_is_used_as_is(settings, tmp_path):
    import shutil

    standin = modules.standin_dir(settings, get_architecture(ARCH))
    module = modules.get_module(ARCH, settings.replace(profile="real", hub_module=str(standin)))
    assert module.stand_in and module.location == str(standin)  # still labelled a stand-in
    plain = tmp_path / "plain"
    shutil.copytree(standin, plain)
    (plain / "hw5-manifest.json").unlink()
    module = modules.get_module(ARCH, settings.replace(profile="real", hub_module=str(plain)))
    assert not module.stand_in and module.identity.startswith("local module")


def test_committed_weights_are_checked_against_their_hash(tmp_path, monkeypatch):
    from homework.errors import HomeworkError

    arch = get_architecture(ARCH)
    committed = standins.committed_weights(arch)
    if committed is None:
        pytest.skip(f"no committed weights for {ARCH}")
    shutil.copy(standins.WEIGHTS_DIR / "weights.json", tmp_path / "weights.json")
    damaged = tmp_path / committed.name
    data = bytearray(committed.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(standins, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(HomeworkError) as err:
        standins.build(arch, tmp_path / "module")
    assert str(damaged) in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "module").exists()


def test_feature_scale_is_calibrated_to_the_target_norm():
    arch = get_architecture(ARCH)
    module, backbone = standins.new_module(arch)
    standins.calibrate_batchnorm(module, backbone, 64, count=32)
    factor = standins.calibrate_feature_scale(module, backbone, arch.family, 64, count=32)
    from homework.data import generated

    x, _ = generated.pretext_batch(np.random.default_rng(1), 32, 128)
    from homework.compat import tf

    features = np.asarray(module(tf.image.resize(x.astype(np.float32) / 255.0, (64, 64))), np.float64)
    assert factor and factor != 1.0
    assert abs(np.mean(np.sum(features ** 2, axis=1)) / standins.FEATURE_SQUARED_NORM - 1) < 0.1


def test_a_narrow_inception_embedded_in_the_full_one_computes_the_same_features():
    from homework.compat import keras
    from homework.models import narrow

    full = keras.applications.InceptionV3(input_shape=(None, None, 3), include_top=False, weights=None, pooling="avg")
    small = narrow.narrow_copy(full, 4)
    assert small.count_params() < full.count_params() / 10
    rng = np.random.default_rng(0)
    for layer in small.layers:  # BatchNorm statistics away from their defaults, so they must be carried over
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in layer.get_weights()])
    channels = narrow.embed(small, full)
    x = rng.uniform(0, 1, (2, 96, 96, 3)).astype(np.float32)
    expected, got = np.asarray(small(x)), np.asarray(full(x))
    assert len(channels) == expected.shape[1] == 512 and got.shape[1] == 2048
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(got[:, channels], expected, atol=1e-4)
    assert not np.delete(got, channels, axis=1).any()


def test_embedding_refuses_a_layer_it_does_not_know():
    from homework.compat import keras
    from homework.models import narrow

    def model():
        inputs = keras.Input((8, 8, 3))
        return keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Conv2D(8, 3)(inputs)))

    full = model()
    with pytest.raises(ValueError, match="Dense"):
        narrow.embed(narrow.narrow_copy(full, 2), full)
