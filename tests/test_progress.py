"""The progress line (homework/progress.py): its format, silence off a terminal, the
transfer-learning epochs' callback (images counted from batch indexes, across an
out-of-memory retry) and class grading (one step per submission)."""
import io
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from homework.progress import Progress
from homework.tasks.common import keras_callback, training_progress

FIXTURES = Path(__file__).parent / "fixtures"


class _Stdout(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_line_states_count_rate_and_time_left():
    images = Progress("bottlenecks", 100, stream=io.StringIO(), enabled=True)
    images.done = 25
    assert images.line(5.0) == "bottlenecks: 25/100 images, 5.0 img/s, 15 s left   "
    assert images.line(0.0) == "bottlenecks: 25/100 images, 0.0 img/s, time left unknown   "
    graded = Progress("grading", 40, stream=io.StringIO(), enabled=True, unit="submissions")
    graded.done = 10
    assert graded.line(4.0) == "grading: 10/40 submissions, 2.5 submissions/s, 12 s left   "
    assert Progress("x", 1, unit="items", rate_unit="it/s", enabled=True).rate_unit == "it/s"


def test_lines_overwrite_each_other_and_the_last_is_ended_once():
    stream = io.StringIO()
    shown = Progress("bottlenecks", 10, stream=stream, enabled=True, every_s=0)
    shown.advance(4)
    shown.advance_to(10)
    shown.advance_to(3)  # never backwards
    shown.close()
    shown.close()
    text = stream.getvalue()
    assert text.startswith("\rbottlenecks: 4/10 images, ") and "\rbottlenecks: 10/10 images, " in text
    assert text.endswith("s left   \n") and text.count("\n") == 1 and shown.done == 10


def test_quiet_when_stdout_is_not_a_terminal(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", _Stdout(tty=False))
    quiet = Progress("bottlenecks", 10, stream=stream, every_s=0)
    quiet.advance(5)
    quiet.advance(5)
    quiet.close()
    assert not quiet.enabled and stream.getvalue() == ""
    monkeypatch.setattr("sys.stdout", _Stdout(tty=True))
    loud = Progress("bottlenecks", 10, stream=stream, every_s=0)
    loud.advance(10)
    loud.close()
    assert loud.enabled and stream.getvalue().startswith("\rbottlenecks: 10/10 images")


def test_throttled_to_one_line_per_interval_but_the_last_count_is_always_shown():
    stream = io.StringIO()
    shown = Progress("x", 100, stream=stream, enabled=True, every_s=3600)
    for _ in range(100):
        shown.advance(1)
    assert stream.getvalue().count("\r") == 2 and "100/100 images" in stream.getvalue()  # the first and the last


def test_training_callback_counts_images_from_batch_indexes():
    """10 images in batches of 4 (4, 4, 2); a retry at batch 2 starts a new line from 0."""
    stream = io.StringIO()
    first = training_progress("frozen epoch 1/3, batch 4", 10, 4, stream=stream, enabled=True, every_s=0)
    first.on_epoch_begin(0)
    counts = []
    for step in range(3):
        first.on_train_batch_end(step, {"loss": 1.0})
        counts.append(first.progress.done)
    first.on_epoch_end(0, {"loss": 1.0})
    assert counts == [4, 8, 10]
    lines = stream.getvalue().split("\r")[1:]
    assert [line.split(",")[1].split(":")[1].strip() for line in lines] == ["4/10 images", "8/10 images", "10/10 images"]
    assert stream.getvalue().endswith("\n") and all(line.startswith("frozen epoch 1/3, batch 4: ") for line in lines)

    stream = io.StringIO()
    failed = training_progress("frozen epoch 2/3, batch 4", 10, 4, stream=stream, enabled=True, every_s=0)
    failed.on_train_batch_end(0)  # then out of memory: Keras calls no epoch end
    failed.close()
    retry = training_progress("frozen epoch 2/3, batch 2", 10, 2, stream=stream, enabled=True, every_s=0)
    for step in range(5):
        retry.on_train_batch_end(step)
    retry.on_epoch_end(1)
    assert failed.progress.done == 4 and retry.progress.done == 10
    assert stream.getvalue().count("\n") == 2 and "batch 2: 2/10 images" in stream.getvalue() and "batch 2: 10/10 images" in stream.getvalue()


def test_training_callback_in_a_tiny_keras_fit():
    from homework.compat import keras

    stream = io.StringIO()
    bar = training_progress("tiny", 10, 4, stream=stream, enabled=True, every_s=0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(np.zeros((10, 3), np.float32), np.zeros(10, np.int64), batch_size=4, epochs=1, verbose=0, callbacks=[keras_callback(bar)])
    assert bar.progress.done == 10 and stream.getvalue().count("\r") == 3 and stream.getvalue().endswith("\n")


def test_fit_oom_safe_shows_the_line_on_a_terminal_across_an_oom_retry(monkeypatch, capsys, caplog):
    """Batches above 2 raise TF's out-of-memory error: 8 and 4 fail, 2 trains. The line counts the
    images at the batch that ran, and Keras' own per-batch bar is not printed beside it."""
    from homework.compat import keras
    from homework.tasks import transfer

    monkeypatch.setattr(transfer, "on_terminal", lambda: True)
    images, labels = np.zeros((10, 4, 4, 3), np.uint8), np.arange(10) % 2
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    with caplog.at_level(logging.WARNING, logger="hw5"):
        history, seconds, tried, batch = transfer.fit_oom_safe(model, images, labels, None, 2, 8, 0, simulate_oom_above=2, verbose=1, label="frozen")
    assert tried == [8, 4, 2] and batch == 2 and len(seconds) == 2
    out, err = capsys.readouterr()
    shown = [line for line in err.split("\r") if line.startswith("frozen epoch")]
    assert {line.split(":")[0] for line in shown} == {"frozen epoch 1/2, batch 2", "frozen epoch 2/2, batch 2"}
    for epoch in ("1/2", "2/2"):  # shown at most every 0.5 s, but always the first and the last batch
        counts = [line.split(": ")[1].split(",")[0] for line in shown if line.startswith(f"frozen epoch {epoch},")]
        assert counts[0] == "2/10 images" and counts[-1] == "10/10 images" and set(counts) <= {f"{n}/10 images" for n in (2, 4, 6, 8, 10)}
    assert err.count("\n") == 2  # each epoch's line ended once
    assert "[=" not in out  # verbose 1 became 2: Keras prints its epoch line, not its bar


def test_fit_oom_safe_adds_no_line_off_a_terminal(monkeypatch, capsys):
    from homework.compat import keras
    from homework.tasks import transfer

    monkeypatch.setattr(transfer, "on_terminal", lambda: False)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    transfer.fit_oom_safe(model, np.zeros((10, 4, 4, 3), np.uint8), np.zeros(10, np.int64), None, 1, 4, 0, verbose=2)
    assert "images" not in capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_class_grading_advances_once_per_submission(tmp_path, monkeypatch, jobs):
    from homework.cli import main
    from homework.grading import classroom

    made = []

    class Recorded(Progress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "stream": io.StringIO(), "enabled": True, "every_s": 0})
            self.steps = []
            made.append(self)

        def advance(self, count):
            self.steps.append(count)
            super().advance(count)

    monkeypatch.setattr(classroom, "Progress", Recorded)
    folder = tmp_path / "class"
    folder.mkdir()
    names = ["numbered_bold_dash.md", "partial.md", "headings.md"]
    for name in names:
        shutil.copy(FIXTURES / "writeups" / name, folder / name)
    assert main(["grade", str(folder), "-o", str(tmp_path / "grades"), "-j", jobs]) == 0
    (bar,) = made
    assert bar.steps == [1, 1, 1] and bar.done == bar.total == 3
    text = bar.stream.getvalue()
    assert [line.split(",")[0] for line in text.split("\r")[1:]] == [f"grading: {n}/3 submissions" for n in (1, 2, 3)]
    assert "submissions/s" in text and text.endswith("\n")
    rows = (tmp_path / "grades" / "class.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == sorted(Path(n).stem for n in names)  # row order kept


def test_progress_module_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, homework.progress, homework.grading.classroom; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
