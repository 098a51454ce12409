"""No silent stand-ins on real photos (issue 21, item 4): `hw5 retrain` and `hw5 run` say at the
start what they use, real or stand-in, and `hw5 retrain` on your own photos without a profile
takes a real extractor or stops in one line (homework/real_or_standin.py)."""
import types
from pathlib import Path

import numpy as np
import pytest

from homework import catalogue, cli
from homework.cli import main
from homework.data import trees
from homework.data.mnist import GENERATED_KEY
from homework.errors import HomeworkError
from homework.models import modules
from homework.models.modules import ModuleSource
from homework.models.registry import INCEPTION_V3, MOBILENET_V2, get_architecture
from homework.real_or_standin import choose_retrain_profile, retrain_profile, run_lines
from homework.settings import Settings, write_handoff
from homework.tasks.retrain import RetrainConfig
from helpers import make_jpeg

ARCH = "mobilenet_0.50_224"
HUB_URL = "https://tfhub.dev/google/imagenet/mobilenet_v1_050_224/feature_vector/5?tf-hub-format=compressed"
CACHED_GRAPH = ModuleSource(ARCH, modules.CODELAB_GRAPH, "/cache/codelab/mobilenet_v1_0.50_224_frozen.tgz", stand_in=False)
HUB_TO_FETCH = ModuleSource(ARCH, modules.TF_HUB, HUB_URL.split("?")[0], stand_in=False, fetch_from=HUB_URL)


def never(url):
    raise AssertionError(f"the network was consulted for {url}")


# --- the rule itself ---------------------------------------------------------------------


def test_a_generated_tree_without_a_profile_keeps_the_embedded_default():
    assert retrain_profile(None, True, HUB_TO_FETCH, never) == "embedded"
    assert retrain_profile(None, True, CACHED_GRAPH, never) == "embedded"


def test_own_photos_without_a_profile_take_a_real_extractor_on_hand_or_reachable():
    assert retrain_profile(None, False, CACHED_GRAPH, never) == "real"
    assert retrain_profile(None, False, HUB_TO_FETCH, lambda url: url == HUB_URL) == "real"


def test_own_photos_offline_without_a_real_extractor_stop_in_one_line():
    with pytest.raises(HomeworkError) as err:
        retrain_profile(None, False, HUB_TO_FETCH, lambda url: False)
    message = str(err.value)
    assert "\n" not in message and "photos are real but no real extractor is available offline" in message
    assert "pass --profile embedded to use the stand-in (results labelled stand-in)" in message
    assert "`hw5 data --profile real`" in message and f"{ARCH}: none in the cache, and tfhub.dev cannot be reached" in message


def test_an_architecture_hw5_data_does_not_fetch_by_default_is_named_in_the_hint():
    other = ModuleSource("mobilenet_0.25_128", modules.TF_HUB, "h", stand_in=False, fetch_from=HUB_URL)
    with pytest.raises(HomeworkError, match=r"`hw5 data --profile real --architecture mobilenet_0.25_128`"):
        retrain_profile(None, False, other, lambda url: False)


@pytest.mark.parametrize("given, generated", [("embedded", False), ("embedded", True), ("real", True), ("real", False)])
def test_a_given_profile_is_kept_whatever_the_images(given, generated):
    assert retrain_profile(given, generated, HUB_TO_FETCH, never) == given


# --- the rule on real cache layouts ------------------------------------------------------


@pytest.fixture
def photos(tmp_path):
    """A user's class-per-folder photos: no generated-tree manifest beside it."""
    for label, colour in (("daisy", (250, 250, 240)), ("roses", (200, 20, 30))):
        for i in range(6):
            make_jpeg(tmp_path / "photos" / label / f"{label}{i}.jpg", (colour[0], colour[1], colour[2] - 5 * i))
    return tmp_path / "photos"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh working folder and cache, with no profile in the environment or a settings file."""
    for name in ("HW5_PROFILE", "HW5_CONFIG", "HW5_HUB_MODULE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HW5_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return Settings.load({}, env={"HW5_CACHE_DIR": str(tmp_path / "cache")})


def place_codelab_archive(settings):
    """The codelab graph's archive where `hw5 data --profile real` puts it (the rule looks at names only)."""
    path = catalogue.codelab_dir(settings) / get_architecture(ARCH).codelab.archive
    path.parent.mkdir(parents=True)
    path.write_bytes(b"archive")


def test_own_photos_take_the_codelab_graph_in_the_cache(home, photos):
    place_codelab_archive(home)
    assert choose_retrain_profile(RetrainConfig(image_dir=str(photos), architecture=ARCH), home, False, never) == "real"


def test_own_photos_take_a_cached_tf_hub_module(home, photos):
    arch = get_architecture(ARCH)
    download = catalogue.hub_module(arch.hub_handle, arch.name).path(home.cache_dir)
    download.parent.mkdir(parents=True)
    download.write_bytes(b"module")
    assert choose_retrain_profile(RetrainConfig(image_dir=str(photos), architecture=ARCH), home, False, never) == "real"


def test_own_photos_take_the_graph_in_model_dir(home, photos, tmp_path):
    graph = tmp_path / "models" / get_architecture(ARCH).codelab.graph_file
    graph.parent.mkdir(parents=True)
    graph.write_bytes(b"graph")
    config = RetrainConfig(image_dir=str(photos), architecture=ARCH, model_dir=str(tmp_path / "models"))
    assert choose_retrain_profile(config, home, False, never) == "real"


def test_a_generated_tree_is_recognised_by_its_manifest(home):
    tree = trees.generated_tree(home, "flower_photos", 2, 32)
    assert choose_retrain_profile(RetrainConfig(image_dir=str(tree.root), architecture=ARCH), home, False, never) == "embedded"
    assert not trees.is_generated_tree(tree.root.parent)


def test_own_photos_with_an_empty_cache_and_no_network_stop(home, photos, no_network):
    with pytest.raises(HomeworkError, match="pass --profile embedded"):
        choose_retrain_profile(RetrainConfig(image_dir=str(photos), architecture=ARCH), home, False)
    assert no_network, "the host was not looked up"


def test_a_missing_folder_is_said_before_the_extractor(home, tmp_path):
    with pytest.raises(HomeworkError, match="image folder not found"):
        choose_retrain_profile(RetrainConfig(image_dir=str(tmp_path / "nowhere"), architecture=ARCH), home, False, never)


# --- hw5 retrain: the start lines, and the rule through the command ----------------------


@pytest.fixture
def fake_retrain(monkeypatch):
    """hw5 retrain up to the task: records the settings it would run with, and does no TensorFlow work."""
    calls = []

    def retrain(configs, settings, **kwargs):
        calls.append(settings)
        return [types.SimpleNamespace(details={"cache": {"hits": 0, "extractor_images": 0}}, stand_in=settings.profile == "embedded",
                                      provenance={"extractor": "fake"})]

    monkeypatch.setattr("homework.tasks.retrain.retrain", retrain)
    return calls


def retrain_args(image_dir, tmp_path, *extra):
    out = Path(tmp_path) / "out"
    return ["retrain", "--image_dir", str(image_dir), "--architecture", ARCH, "--how_many_training_steps", "5",
            "--output_graph", str(out / "g.pb"), "--output_labels", str(out / "l.txt"), "--bottleneck_dir", str(out / "bn"),
            "--summaries_dir", str(out / "logs"), *extra]


@pytest.mark.parametrize("how", ["flag", "environment", "settings file"])
def test_a_given_embedded_profile_runs_the_stand_in_and_says_so_first(home, photos, tmp_path, fake_retrain, no_network, capsys,
                                                                     monkeypatch, how):
    extra = ["--profile", "embedded"] if how == "flag" else []
    if how == "environment":
        monkeypatch.setenv("HW5_PROFILE", "embedded")
    if how == "settings file":
        Path("hw5.yaml").write_text("profile: embedded\n")
    assert main(retrain_args(photos, tmp_path, *extra)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"hw5 retrain: extractor {ARCH} = stand-in (embedded profile, generated pretraining, not ImageNet) "
                        f"| images: {photos} (your folder)")
    assert lines[1].startswith("hw5 retrain: a stand-in extractor on your own photos") and "labelled stand-in" in lines[1]
    assert [s.profile for s in fake_retrain] == ["embedded"] and not no_network


def test_a_generated_tree_without_a_profile_runs_the_stand_in(home, tmp_path, fake_retrain, no_network, capsys):
    tree = trees.generated_tree(home, "flower_photos", 2, 32).root
    assert main(retrain_args(tree, tmp_path)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"hw5 retrain: extractor {ARCH} = stand-in (embedded profile, ")
    assert lines[0].endswith(f"| images: {tree} (generated stand-in tree)") and "your own photos" not in lines[1]
    assert [s.profile for s in fake_retrain] == ["embedded"]


def test_own_photos_offline_without_a_real_extractor_exit_2_in_one_line(home, photos, tmp_path, fake_retrain, no_network, capsys):
    assert main(retrain_args(photos, tmp_path)) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("hw5: error: your --image_dir photos are real")
    assert "pass --profile embedded to use the stand-in" in err and fake_retrain == []


def test_hw5_runs_handed_over_settings_keep_their_profile(home, photos, tmp_path, fake_retrain, no_network, capsys):
    """The CPU vs GPU legs: hw5 run hands its settings over, with no sources; its profile was chosen."""
    write_handoff(tmp_path / "settings.json", home, {}, "leg")
    assert main(retrain_args(photos, tmp_path, "--settings-json", str(tmp_path / "settings.json"))) == 0
    assert [s.profile for s in fake_retrain] == ["embedded"] and "= stand-in" in capsys.readouterr().out


def test_own_photos_use_the_codelab_graph_in_the_cache_end_to_end(home, photos, tmp_path, no_network, capsys):
    from test_retrain_unit import tiny_codelab_graph, write_archive

    write_archive(catalogue.codelab_dir(home), ARCH, tiny_codelab_graph("mobilenet"))
    assert main(retrain_args(photos, tmp_path)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"hw5 retrain: extractor {ARCH} = real (real profile chosen for your own photos, codelab frozen graph "
                        f"{catalogue.codelab_dir(home) / get_architecture(ARCH).codelab.archive}) | images: {photos} (your folder)")
    assert "(real extractor: codelab graph: " in lines[-1] and not no_network


def test_a_download_that_fails_after_the_rule_chose_real_is_the_same_one_line(home, photos, tmp_path, no_network, capsys, monkeypatch):
    from homework import download

    monkeypatch.setattr(download, "host_resolves", lambda url, timeout_s=5.0: True)  # the name resolves, the download cannot start
    assert main(retrain_args(photos, tmp_path)) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"hw5 retrain: extractor {ARCH} = real (real profile chosen for your own photos, TF Hub module ")
    assert "downloading it first" in out.splitlines()[0]
    assert err.count("\n") == 1 and "cannot reach" in err and "pass --profile embedded to use the stand-in" in err


def test_the_rule_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["retrain", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Without one, the generated trees get the embedded stand-in, and a folder of your own photos gets a real extractor" in text


# --- hw5 run: one line per input ---------------------------------------------------------


def test_hw5_run_says_real_or_stand_in_for_each_input_before_preparing(home, capsys, monkeypatch):
    def stop(settings):
        raise HomeworkError("stopped before preparing")

    monkeypatch.setattr(cli, "_prepare", stop)
    assert main(["run", "--device-label", "here"]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "hw5 run: MNIST = stand-in (embedded profile, the 5,000 real MNIST digits hw5 ships, not MNIST's 70,000)",
        "hw5 run: flowers = stand-in (embedded profile, generated tree, 100 images a class)",
        "hw5 run: own images = stand-in (embedded profile, generated tree)",
        f"hw5 run: modules {MOBILENET_V2.name}, {ARCH}, {INCEPTION_V3.name} = stand-in (embedded profile, generated pretraining)",
    ]


def test_hw5_run_lines_in_the_real_profile_say_cached_or_to_download(home):
    real = home.replace(profile="real")
    for item in (catalogue.MNIST, catalogue.hub_module(MOBILENET_V2.hub_handle, MOBILENET_V2.name)):
        item.path(real.cache_dir).parent.mkdir(parents=True, exist_ok=True)
        item.path(real.cache_dir).write_bytes(b"placed")
    assert run_lines(real) == [
        "hw5 run: MNIST = real (mnist.npz, cached)",
        f"hw5 run: flowers = real (flower_photos, to download from {catalogue.FLOWERS.url})",
        "hw5 run: own images = none (question 10 is skipped: pass --own-images-dir with your photos, one folder per class)",
        f"hw5 run: modules {MOBILENET_V2.name} = real (TF Hub, cached); {ARCH}, {INCEPTION_V3.name} = real (TF Hub, to download)",
    ]


def test_hw5_run_lines_name_your_own_files(home, photos, tmp_path):
    real_npz, generated_npz = tmp_path / "mnist.npz", tmp_path / "generated.npz"
    digits = {name: np.zeros((2, 28, 28) if name.startswith("x") else 2, np.uint8) for name in ("x_train", "y_train", "x_test", "y_test")}
    np.savez(real_npz, **digits)
    np.savez(generated_npz, **digits, **{GENERATED_KEY: np.array("jittered copies")})
    mine = home.replace(flowers_dir=photos, own_images_dir=photos, mnist_path=real_npz)
    lines = run_lines(mine)
    assert lines[:3] == [f"hw5 run: MNIST = real (your file {real_npz})", f"hw5 run: flowers = real (your folder {photos})",
                         f"hw5 run: own images = real (your folder {photos})"]
    assert lines[3].endswith("= stand-in (embedded profile, generated pretraining)")  # real photos, stand-in modules: said
    assert lines[4].startswith(f"hw5 run: warning: stand-in modules ({MOBILENET_V2.name}, {ARCH}, {INCEPTION_V3.name}) "
                               f"on your photos ({photos}, {photos})")
    assert len(run_lines(home)) == 4  # generated trees and stand-in modules: no warning
    assert run_lines(mine.replace(mnist_path=generated_npz))[0] == (
        f"hw5 run: MNIST = stand-in (your file {generated_npz} says it is generated: jittered copies)")


def test_a_host_that_does_not_resolve_counts_as_offline(no_network):
    from homework import download

    assert not download.host_resolves(HUB_URL) and no_network
    assert not download.host_resolves("not a url")


def test_a_host_that_resolves_is_reachable_and_a_hanging_lookup_is_not(monkeypatch):
    import socket
    import threading

    from homework import download

    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))])
    assert download.host_resolves(HUB_URL)
    release = threading.Event()
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port: release.wait(5) and [])
    assert not download.host_resolves(HUB_URL, timeout_s=0.05)
    release.set()
