import numpy as np
from PIL import Image

from homework.data import generated, trees
from homework.data.images import load_image_tree


def test_image_i_does_not_depend_on_how_many_are_asked_for(tmp_path):
    generated.write_tree(tmp_path / "a", "flower_photos", 2, 64)
    generated.write_tree(tmp_path / "b", "flower_photos", 5, 64)
    for label in ("daisy", "tulips"):
        for i in range(2):
            name = f"flower_photos/{label}/{label}_{i:04d}.jpg"
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_flowers_tree_has_the_real_class_names_and_loads(isolated_settings):
    source = trees.flowers(isolated_settings.replace(flowers_images_per_class=12, flowers_image_px=64))
    tree = load_image_tree(source.root)
    assert tree.labels == ("daisy", "dandelion", "roses", "sunflowers", "tulips")
    assert source.stand_in and "stand-in" in source.identity and len(tree.entries) == 60


def test_classes_are_neither_trivial_nor_hopeless_for_colour_alone(tmp_path):
    """A nearest-centroid classifier on mean colour must beat chance but not solve the task:
    the classes overlap in colour, so shape and texture are needed too."""
    root, _ = generated.write_tree(tmp_path, "flower_photos", 30, 64)
    labels = sorted(p.name for p in root.iterdir())
    features, targets = [], []
    for index, label in enumerate(labels):
        for path in sorted((root / label).iterdir()):
            array = np.asarray(Image.open(path), np.float32)
            centre = array[16:48, 16:48]
            features.append(np.concatenate([array.mean((0, 1)), centre.mean((0, 1))]))
            targets.append(index)
    features, targets = np.array(features), np.array(targets)
    train = np.arange(len(targets)) % 3 != 0
    centroids = np.stack([features[train & (targets == k)].mean(0) for k in range(5)])
    predicted = np.argmin(((features[~train, None] - centroids) ** 2).sum(-1), 1)
    accuracy = (predicted == targets[~train]).mean()
    print("colour-only accuracy", accuracy)
    assert 0.3 < accuracy < 0.9, accuracy


def test_corrupt_generated_image_is_regenerated(isolated_settings):
    settings = isolated_settings.replace(flowers_images_per_class=3, flowers_image_px=48)
    source = trees.flowers(settings)
    victim = source.root / "roses" / "roses_0001.jpg"
    good = victim.read_bytes()
    victim.write_bytes(good[:100])
    again = trees.flowers(settings)
    assert again.built and victim.read_bytes() == good
    assert not trees.flowers(settings).built


def test_pretext_images_are_deterministic_and_labelled_in_range():
    a, labels = generated.pretext_batch(np.random.default_rng(3), 12, 48)
    b, again = generated.pretext_batch(np.random.default_rng(3), 12, 48)
    assert a.shape == (12, 48, 48, 3) and a.dtype == np.uint8 and (a == b).all()
    assert set(labels) == set(generated.PRETEXT_HEADS)
    for name, classes in generated.PRETEXT_HEADS.items():
        assert (again[name] == labels[name]).all() and 0 <= labels[name].min() and labels[name].max() < classes
    assert a.std() > 10  # drawn, not blank
