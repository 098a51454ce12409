"""The real profile's downloads (homework/catalogue.py) end to end, without the real hosts: every
catalogue URL is answered by a local server at /<host><path>?<query>, the published pins are
swapped for the digests of small fake files, and `hw5 data --profile real` fetches, reuses,
checks copies placed by hand and reports what it cannot fetch."""
import dataclasses
import hashlib
import io
import os
import shutil
import tarfile
import urllib.parse
import urllib.request

import numpy as np
import pytest

from homework import catalogue, download
from homework.cli import main
from homework.data import trees
from homework.data.mnist import load_mnist
from homework.download import Policy
from homework.errors import HomeworkError, OfflineError
from homework.models import modules
from homework.models.registry import INCEPTION_V3, MOBILENET_V2, get_architecture
from homework.settings import Settings
from local_server import LocalServer

FAST = Policy(read_timeout_s=0.3, attempts=2, backoff_s=0.01, max_backoff_s=0.02)
RETRAIN_ARCH = get_architecture("mobilenet_0.50_224")  # the settings' default architecture


def tarball(members, prefix=""):
    """A .tar.gz in memory of {name: bytes}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def mnist_bytes(train=30, test=10):
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez(buffer, x_train=rng.integers(0, 255, (train, 28, 28), dtype=np.uint8), y_train=rng.integers(0, 10, train, dtype=np.uint8),
             x_test=rng.integers(0, 255, (test, 28, 28), dtype=np.uint8), y_test=rng.integers(0, 10, test, dtype=np.uint8))
    return buffer.getvalue()


FLOWERS_TGZ = tarball({"LICENSE.txt": b"CC-BY", **{f"{name}/{i}.jpg": bytes([i]) * 50 for name in catalogue.FLOWER_CLASSES for i in range(3)}},
                      prefix="flower_photos/")
MNIST_NPZ = mnist_bytes()
HUB_TGZ = tarball({"saved_model.pb": b"graph", "variables/variables.index": b"index"}, prefix="./")
CODELAB_TGZ = tarball({"graph.pb": b"frozen"})


def route(url):
    parts = urllib.parse.urlsplit(url)
    return "/" + parts.netloc + parts.path + ("?" + parts.query if parts.query else "")


@pytest.fixture
def hosts(monkeypatch):
    """A local server standing in for every host, with the pins of the fake files."""
    server = LocalServer()
    real_open = download._open

    def routed(request, timeout):
        local = urllib.request.Request(server.url(route(request.full_url)), headers=dict(request.header_items()))
        return real_open(local, timeout)

    monkeypatch.setattr(download, "_open", routed)
    monkeypatch.setattr(download, "DEFAULT_POLICY", FAST)
    for name, body in (("FLOWERS", FLOWERS_TGZ), ("MNIST", MNIST_NPZ)):
        pinned = dataclasses.replace(getattr(catalogue, name), size=len(body), sha256=hashlib.sha256(body).hexdigest())
        monkeypatch.setattr(catalogue, name, pinned)
        server.add(route(pinned.url), body)
    for arch in (MOBILENET_V2, RETRAIN_ARCH, INCEPTION_V3):
        server.add(route(catalogue.hub_module(arch.hub_handle, arch.name).url), HUB_TGZ)
    for arch in (RETRAIN_ARCH, INCEPTION_V3):
        server.add(route(arch.codelab.url), CODELAB_TGZ)
    yield server
    server.close()


@pytest.fixture
def real(tmp_path):
    return Settings.load({"profile": "real", "cache_dir": str(tmp_path / "cache")}, env={})


def test_flowers_are_fetched_unpacked_then_reused(hosts, real):
    first = catalogue.place(catalogue.FLOWERS, real)
    assert first.state == "fetched" and first.path == real.cache_dir / "real" / "flower_photos"
    assert sorted(p.name for p in first.path.iterdir()) == ["LICENSE.txt", *sorted(catalogue.FLOWER_CLASSES)]
    assert (first.path / "roses" / "2.jpg").read_bytes() == bytes([2]) * 50
    again = catalogue.place(catalogue.FLOWERS, real)
    assert again.state == "cached" and again.sha256 == first.sha256
    assert len(hosts.requests(route(catalogue.FLOWERS.url))) == 1
    source = trees.flowers(real)
    assert source.root == first.path and not source.stand_in and source.identity == f"download: {catalogue.FLOWERS.url}"


def test_the_published_archive_placed_by_hand_is_used_without_a_download(hosts, real):
    archive = catalogue.FLOWERS.path(real.cache_dir)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(FLOWERS_TGZ)
    placed = catalogue.place(catalogue.FLOWERS, real)
    assert placed.state == "placed by hand" and "matches the published sha256" in placed.note
    assert (placed.path / "daisy" / "0.jpg").is_file() and hosts.requests(route(catalogue.FLOWERS.url)) == []
    assert catalogue.place(catalogue.FLOWERS, real).state == "cached"


def test_a_wrong_archive_placed_by_hand_is_refused_naming_both_hashes(hosts, real):
    archive = catalogue.FLOWERS.path(real.cache_dir)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(FLOWERS_TGZ[:-10])
    with pytest.raises(HomeworkError) as err:
        catalogue.place(catalogue.FLOWERS, real)
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{archive}: not the expected flower_photos")
    assert hashlib.sha256(FLOWERS_TGZ[:-10]).hexdigest() in text and catalogue.FLOWERS.sha256 in text
    assert hosts.requests(route(catalogue.FLOWERS.url)) == [] and not catalogue.FLOWERS.unpacked(real.cache_dir).exists()


def test_the_mnist_loader_reads_the_checked_download(hosts, real):
    data = load_mnist(real)
    with np.load(io.BytesIO(MNIST_NPZ)) as expected:
        assert sorted(data.y_test.tolist()) == sorted(expected["y_test"].tolist()) and len(data.y_train) == 30
    assert not data.stand_in and catalogue.MNIST.url in data.source
    npz = real.cache_dir / "downloads" / "mnist.npz"
    assert npz.read_bytes() == MNIST_NPZ
    # touched (or copied back unchanged): hashed again, still the same bytes; changed: refused
    os.utime(npz, ns=(1, 1))
    assert catalogue.place(catalogue.MNIST, real).state == "cached"
    npz.write_bytes(MNIST_NPZ[:-1] + b"?")
    with pytest.raises(HomeworkError, match="not the expected mnist.npz"):
        load_mnist(real)
    assert len(hosts.requests(route(catalogue.MNIST.url))) == 1


def test_a_hub_module_is_fetched_compressed_and_unpacked_where_hub_loads_it(hosts, real):
    module = modules.get_module(RETRAIN_ARCH, real)
    folder = real.cache_dir / "real" / "hub" / RETRAIN_ARCH.name
    assert module.location == str(folder) and (folder / "saved_model.pb").read_bytes() == b"graph"
    assert (folder / "variables" / "variables.index").is_file()
    assert module.identity == f"tfhub: {RETRAIN_ARCH.hub_handle}" and module.sha256 == hashlib.sha256(HUB_TGZ).hexdigest()
    (asked,) = [s for s in hosts.seen if "mobilenet_v1_050_224" in s.path]
    assert asked.path.endswith("/feature_vector/5?tf-hub-format=compressed")


def test_an_unpinned_download_is_recorded_and_a_changed_one_refused(hosts, real):
    item = catalogue.hub_module(INCEPTION_V3.hub_handle, INCEPTION_V3.name)
    catalogue.place(item, real)
    archive = item.path(real.cache_dir)
    record = archive.with_name(archive.name + catalogue.RECORD_SUFFIX)
    assert record.is_file() and hashlib.sha256(HUB_TGZ).hexdigest() in record.read_text()
    # the publisher's file changes: a new download no longer matches what was recorded
    changed = HUB_TGZ[:-1] + bytes([HUB_TGZ[-1] ^ 1])
    hosts.add(route(item.url), changed)
    archive.unlink()
    shutil.rmtree(item.unpacked(real.cache_dir))
    with pytest.raises(HomeworkError) as err:
        catalogue.place(item, real)
    assert hashlib.sha256(changed).hexdigest() in str(err.value) and f"delete {record}" in str(err.value)
    assert not archive.exists()


def test_hw5_data_real_fetches_everything_then_finds_it_cached(hosts, tmp_path, capsys):
    args = ["data", "--profile", "real", "--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 0
    first = capsys.readouterr().out
    rows = {line[:34].strip(): line[35:49].strip() for line in first.splitlines() if not line.startswith(("[", "item"))}
    expected = {"MNIST", "flowers tree", *(f"module {a.name}" for a in (MOBILENET_V2, RETRAIN_ARCH, INCEPTION_V3)),
                f"codelab graph {RETRAIN_ARCH.name}", "codelab graph inception_v3"}
    assert rows == {name: "fetched" for name in expected}, first
    assert (tmp_path / "cache" / "codelab" / "inception-2015-12-05.tgz").read_bytes() == CODELAB_TGZ
    assert main(args) == 0
    second = capsys.readouterr().out
    assert {line[:34].strip(): line[35:49].strip() for line in second.splitlines() if not line.startswith(("[", "item"))} == \
        {name: "cached" for name in expected}
    assert len(hosts.seen) == len(expected)  # the second run asked for nothing


def test_hw5_data_real_offline_names_each_item_and_where_to_put_it(tmp_path, capsys, no_network):
    cache = tmp_path / "cache"
    assert main(["data", "--profile", "real", "--cache-dir", str(cache)]) == 2
    captured = capsys.readouterr()
    failed = [line for line in captured.out.splitlines() if line[35:49].strip() == "failed"]
    assert len(failed) == 7
    assert any(f"save it as {cache / 'downloads' / 'flower_photos.tgz'}, or pass --flowers-dir" in line for line in failed)
    assert any(f"save it as {cache / 'downloads' / 'mnist.npz'}, or pass --mnist-path" in line for line in failed)
    assert any(f"save it as {cache / 'codelab' / 'inception-2015-12-05.tgz'}" in line for line in failed)
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("hw5: error: not ready: MNIST, flowers tree, module ") and "Traceback" not in captured.err
    assert not cache.exists()  # nothing was written


def test_a_hand_placed_tree_and_npz_get_a_note_not_an_error(hosts, tmp_path, capsys):
    flowers = tmp_path / "my_flowers"
    for name in ("daisy", "tulips"):
        (flowers / name).mkdir(parents=True)
        (flowers / name / "a.jpg").write_bytes(b"x")
    npz = tmp_path / "mine.npz"
    npz.write_bytes(mnist_bytes(train=20))
    assert main(["data", "--profile", "real", "--cache-dir", str(tmp_path / "cache"), "--flowers-dir", str(flowers),
                 "--mnist-path", str(npz)]) == 0
    out = capsys.readouterr().out
    (mnist_row,) = [line for line in out.splitlines() if line.startswith("MNIST ")]
    (tree_row,) = [line for line in out.splitlines() if line.startswith("flowers tree ")]
    assert "placed by hand" in mnist_row and "note: not the published mnist.npz" in mnist_row
    assert "placed by hand" in tree_row and "not the published flower_photos (3,670 JPEGs in 5 classes): 2 JPEGs" in tree_row
    assert "daisy 1 (published 633)" in tree_row and "roses 0 (published 641)" in tree_row
    assert not [s for s in hosts.seen if "flower_photos" in s.path or "mnist" in s.path]


def test_the_published_flower_counts_give_no_note(tmp_path):
    for name, count in catalogue.FLOWER_CLASSES.items():
        (tmp_path / name).mkdir()
        for i in range(count):
            (tmp_path / name / f"{i}.jpg").touch()
    (tmp_path / "LICENSE.txt").touch()
    assert catalogue.compare_flowers(tmp_path) == ""
    (tmp_path / "tulips" / "0.jpg").unlink()
    assert "tulips 798 (published 799)" in catalogue.compare_flowers(tmp_path)


@pytest.mark.parametrize("member", ["../outside.txt", "/etc/evil", "link"])
def test_an_archive_reaching_outside_its_folder_is_refused(tmp_path, member):
    from homework import archives

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(member)
        if member == "link":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    archive = tmp_path / "bad.tgz"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(HomeworkError, match="not unpacked"):
        archives.unpack(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "outside.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.tgz"]  # no staging folder left behind


def test_retrain_looks_for_the_codelab_graph_where_hw5_data_puts_it(real):
    from homework.tasks.retrain import RetrainConfig
    from homework.tasks.retrain_extractor import load_extractor

    archive = catalogue.codelab_dir(real) / RETRAIN_ARCH.codelab.archive
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"not a tarball")
    with pytest.raises(HomeworkError) as err:
        load_extractor(RetrainConfig(architecture=RETRAIN_ARCH.name), real)
    assert str(archive) in str(err.value)


def test_a_hub_module_option_that_is_neither_folder_nor_url_is_one_line(real):
    with pytest.raises(HomeworkError, match="no such folder") as err:
        modules.get_module(RETRAIN_ARCH, real.replace(hub_module="~/not/there"))
    assert not isinstance(err.value, OfflineError)
