"""Cross-device comparison: per-device benchmark folders, machine info, `hw5 compare`."""
import json
from pathlib import Path

import pytest

from homework import compare
from homework.cli import main
from homework.errors import HomeworkError

pytestmark = pytest.mark.usefixtures("tensorflow_first")

BENCH = Path(__file__).parent / "fixtures" / "benchmarks"
ROOT = Path(__file__).resolve().parent.parent


def test_compare_saved_benchmarks_from_two_devices(tmp_path, capsys):
    out = tmp_path / "compare.md"
    assert main(["compare", str(BENCH / "jetson-tx2.json"), str(BENCH / "rtx-2080.json"), "--baseline", "rtx-2080", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "NVIDIA Jetson TX2 Developer Kit; GPU: NVIDIA Jetson TX2; power mode MAXN (0)" in text
    assert "GPU: NVIDIA GeForce RTX 2080; TensorFlow 2.13.0" in text
    assert "| metric | jetson-tx2 | rtx-2080 | jetson-tx2 / rtx-2080 |" in text
    transfer = text.split("#### transfer")[1]
    assert "| test_benchmark_transfer_epoch[frozen] | 281 | 14 | 20.07x |" in transfer  # the TX2 vs RTX 2080 epoch
    assert "| test_benchmark_transfer_epoch[fine_tuned] | 206 | 13 | 15.85x |" in transfer
    assert out.read_text().strip() == text.split("hw5: wrote")[0].strip()


def test_compare_errors_are_one_line(tmp_path):
    runs = [compare.load(BENCH / "jetson-tx2.json"), compare.load(BENCH / "rtx-2080.json")]
    with pytest.raises(HomeworkError, match="--baseline orin: no such device among jetson-tx2, rtx-2080"):
        compare.baseline_index(runs, "orin")
    bad = tmp_path / "bad.json"
    bad.write_text('{"benchmarks": [{"name": "x"}]}')
    with pytest.raises(HomeworkError, match="bad.json: 'benchmarks' entries need 'name' and 'stats'"):
        compare.load(bad)
    assert main(["compare", str(BENCH / "rtx-2080.json")]) == 2


def test_device_labels_get_their_own_folders_and_the_orin_compares_with_the_pc(pytester):
    """The README's flow: on the PC `pytest checks/ --device-label pc --benchmark-autosave`, copy
    .benchmarks/ over, then on the Orin `--benchmark-compare=<the PC's file>` (or a bare 0001).
    Each label saves into its own folder, with hw5's machine info."""
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(test_speed="""
        def test_benchmark_sum(benchmark):
            benchmark(sum, range(1000))
    """)
    pytester.makeini("[pytest]\nmarkers =\n    weight(points): points\n")
    common = ["-p", "no:cacheprovider", "--benchmark-min-rounds=3", "--benchmark-columns=mean"]
    for label in ("pc", "laptop"):
        result = pytester.runpytest_subprocess(*common, f"--device-label={label}", "--benchmark-autosave", f"--record=results/{label}.json")
        result.assert_outcomes(passed=1)
    saved = {label: sorted((pytester.path / ".benchmarks" / label).rglob("*.json")) for label in ("pc", "laptop")}
    assert all(len(files) == 1 for files in saved.values()), saved
    info = json.loads(saved["pc"][0].read_text())["machine_info"]["hw5"]
    assert info["device_label"] == "pc" and info["profile"] == "embedded"
    from homework import device

    assert info["device"]["gpu"] == json.loads(json.dumps(device.describe()["gpu"]))  # "none", or this machine's GPUs
    assert info["device"]["cpu"]["cores"] > 0 and info["device"]["cpu"]["model"]
    table = compare.markdown([compare.load(saved[label][0]) for label in ("pc", "laptop")])
    assert "#### speed" in table and "| test_benchmark_sum |" in table and "laptop / pc" in table

    for against in (str(saved["pc"][0].relative_to(pytester.path)), "0001"):
        orin = pytester.runpytest_subprocess(*common, "--device-label=orin", f"--benchmark-compare={against}", "--record=results/orin.json")
        orin.assert_outcomes(passed=1)
        text = orin.stdout.str()
        assert "Can't compare" not in text, text
        rows = [line for line in text.splitlines() if line.startswith("test_benchmark_sum")]
        assert any("(NOW)" in row for row in rows) and any("pc/0001_" in row for row in rows), text


def test_runs_without_pytest_benchmark(pytester):
    """pytest-benchmark is optional: `pytest -p no:benchmark` runs the tests (its hooks are not registered)."""
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n\ndef test_benchmark_sum(benchmark):\n    benchmark(sum, [1])\n")
    pytester.makeini("[pytest]\nmarkers =\n    weight(points): points\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:benchmark", "-rs", "--record=results/x.json")
    result.assert_outcomes(passed=1, skipped=1)  # the benchmark skips with the reason, not an error for its fixture
    assert "not timed: pytest-benchmark is not loaded" in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
