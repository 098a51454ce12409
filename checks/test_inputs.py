"""The homework's inputs are ready: MNIST, the flowers tree and the feature-vector modules
(real ones in the real profile, generated data and stand-ins in the embedded one)."""
from homework.prepare import describe_inputs


def test_inputs_ready_and_recorded(settings, store):
    result = describe_inputs(settings)
    assert result.metrics["flowers_classes"] >= 2
    assert result.metrics["mnist_test"] > 0
    assert result.stand_in == (settings.profile == "embedded")
    doc = store("inputs", result)
    assert doc["tasks"]["inputs"]["provenance"]["modules"]
