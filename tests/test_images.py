import os

import numpy as np
import pytest
from PIL import Image

from helpers import make_jpeg
from homework.data.images import codelab_label, load_image_tree, load_rgb, split_for
from homework.errors import HomeworkError


def messy_tree(root):
    for i in range(12):
        make_jpeg(root / "Daisy Flowers" / f"d{i}.JPG", (250, 250, 250))
        make_jpeg(root / "roses" / f"r{i}.jpeg", (200, 20, 30))
    make_jpeg(root / "roses" / "batch2" / "nested.jpg", (190, 20, 30))
    (root / "roses" / "truncated.jpg").write_bytes((root / "roses" / "r0.jpeg").read_bytes()[:200])
    (root / "roses" / "empty.jpg").write_bytes(b"")
    (root / "roses" / "noise.jpg").write_bytes(os.urandom(3000))
    (root / "roses" / "notes.txt").write_text("not an image")
    (root / "roses" / ".hidden.jpg").write_bytes(b"junk")
    make_jpeg(root / "roses" / "gray.png", (120, 120, 120), mode="L")
    make_jpeg(root / "roses" / "alpha.png", (10, 200, 10), mode="RGBA")
    Image.new("CMYK", (30, 30), (0, 255, 255, 0)).save(root / "roses" / "cmyk.jpg")
    (root / "empty_class").mkdir()
    (root / "empty_class" / "broken.jpg").write_bytes(b"\xff\xd8\xff")
    for i in range(3):
        make_jpeg(root / "tiny" / f"t{i}.png", (0, 0, 200))
    (root / "README.txt").write_text("loose file")
    return root


def test_messy_tree_loads_with_one_line_per_problem(tmp_path):
    tree = load_image_tree(messy_tree(tmp_path / "photos"), cache_dir=tmp_path / "cache")
    assert tree.class_dirs == ("Daisy Flowers", "roses", "tiny")
    assert tree.labels == ("daisy flowers", "roses", "tiny")
    reasons = {os.path.basename(p): r for p, r in tree.skipped}
    assert reasons == {"truncated.jpg": "truncated image", "empty.jpg": "empty file (0 bytes)", "noise.jpg": "not an image PIL can read", "broken.jpg": reasons["broken.jpg"]}
    counts = {label: sum(c.values()) for label, c in tree.counts().items()}
    assert counts == {"daisy flowers": 12, "roses": 12 + 1 + 3, "tiny": 3}  # nested, gray, alpha, cmyk kept
    joined = "\n".join(tree.notes)
    assert "empty_class: no usable images, class dropped" in joined
    assert "subfolders counted as class 'roses'" in joined
    assert "tiny: only 3 image(s)" in joined and tree.counts()["tiny"]["training"] == 3
    assert "directly in the root ignored" in joined
    assert all("\n" not in note for note in tree.notes)


def test_converted_images_decode_to_rgb(tmp_path):
    root = messy_tree(tmp_path / "photos")
    for name in ("gray.png", "alpha.png", "cmyk.jpg", "r1.jpeg"):
        array = load_rgb(root / "roses" / name, 24)
        assert array.shape == (24, 24, 3) and array.dtype == np.uint8
    assert load_rgb(root / "roses" / "alpha.png", 8)[0, 0].tolist() == [10, 200, 10]


def test_split_is_stable_when_images_are_added_and_root_respelled(tmp_path):
    root = messy_tree(tmp_path / "photos")
    before = {e.path.name: e.split for e in load_image_tree(root).entries}
    for i in range(12, 40):
        make_jpeg(root / "roses" / f"r{i}.jpeg", (200, 20, 30))
    respelled = tmp_path / "photos" / ".." / "photos"
    after = {e.path.name: e.split for e in load_image_tree(respelled).entries}
    assert all(after[name] == split for name, split in before.items())
    assert set(after.values()) == {"training", "validation", "testing"}


def test_split_follows_the_codelab_formula_and_nohash_rule():
    assert split_for("roses", "a_nohash_1.jpg", 10, 10) == split_for("roses", "a_nohash_2.jpg", 10, 10)
    splits = [split_for("c", f"img{i}.jpg", 10, 10) for i in range(2000)]
    assert 0.07 < splits.count("validation") / 2000 < 0.13 and 0.07 < splits.count("testing") / 2000 < 0.13


def test_codelab_labels():
    assert codelab_label("Sun-Flowers__2") == "sun flowers 2"


def test_verdicts_are_cached_by_content(tmp_path):
    root = messy_tree(tmp_path / "photos")
    load_image_tree(root, cache_dir=tmp_path / "cache")
    assert (tmp_path / "cache" / "image-verdicts.json").is_file()
    (tmp_path / "cache" / "image-verdicts.json").write_text("{garbage")
    assert len(load_image_tree(root, cache_dir=tmp_path / "cache").skipped) == 4


@pytest.mark.parametrize("classes", [0, 1])
def test_fewer_than_two_classes_is_one_clear_line(tmp_path, classes):
    for c in range(classes):
        make_jpeg(tmp_path / "t" / f"c{c}" / "a.jpg")
    (tmp_path / "t").mkdir(exist_ok=True)
    with pytest.raises(HomeworkError, match="needs at least two class folders"):
        load_image_tree(tmp_path / "t")


def test_missing_root(tmp_path):
    with pytest.raises(HomeworkError, match="image folder not found"):
        load_image_tree(tmp_path / "nope")
