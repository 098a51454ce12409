import pytest

from homework.errors import HomeworkError
from homework.models.registry import get_architecture


def test_inception_interface():
    arch = get_architecture("inception_v3")
    assert (arch.input_layer, arch.input_size, arch.input_mean, arch.input_std, arch.bottleneck_size) == ("Mul", 299, 128.0, 128.0, 2048)
    assert arch.codelab.bottleneck_tensor == "pool_3/_reshape:0" and arch.codelab.archive == "inception-2015-12-05.tgz"


@pytest.mark.parametrize("name, width, size", [("mobilenet_0.50_224", 0.5, 224), ("mobilenet_0.5_160", 0.5, 160), ("MobileNet_1.0_128", 1.0, 128), ("mobilenet_0.25_192", 0.25, 192)])
def test_mobilenet_names(name, width, size):
    arch = get_architecture(name)
    assert (arch.width, arch.input_size, arch.input_layer, arch.input_mean, arch.input_std) == (width, size, "input", 127.5, 127.5)
    assert arch.bottleneck_size == int(1024 * width)
    assert arch.codelab.bottleneck_size == 1001 and arch.codelab.graph_file.endswith("/frozen_graph.pb")
    assert f"_{size}/feature_vector/5" in arch.hub_handle


@pytest.mark.parametrize("name", ["mobilenet_0.60_224", "mobilenet_1.0_300", "resnet50", "mobilenet_1.0_224_quantized"])
def test_unknown_architecture_is_one_line(name):
    with pytest.raises(HomeworkError, match="--architecture"):
        get_architecture(name)
