"""`hw5`: the homework for a person. Each subcommand is a thin shell over library calls."""
from __future__ import annotations

import argparse
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from .doctor import require_tensorflow, tensorflow_import_error
from . import __version__
from .errors import HomeworkError
from .settings import Settings

log = logging.getLogger("hw5")


SETTING_HELP = {
    "profile": "embedded (offline, default) or real",
    "cache_dir": "data and module cache (default $XDG_CACHE_HOME/hw5)",
    "results_dir": "where the run record and, with hw5 run, the report go (default ./results)",
    "device_label": "names this device in records and benchmarks",
    "flowers_dir": "a local flower_photos folder (real profile)",
    "mnist_path": "a local mnist.npz (real profile)",
    "hub_module": "TF Hub handle or local SavedModel (image in [0, 1] -> feature vector) used for every architecture",
    "own_images_dir": "your own class-per-folder images for question 10",
}


def add_settings_flags(parser: argparse.ArgumentParser, help_for: Optional[dict] = None) -> None:
    """One flag per setting (--field-name), generated from Settings so a new setting gets its flag;
    `help_for` replaces a setting's help text for this command."""
    import dataclasses

    group = parser.add_argument_group("settings (flags > HW5_* environment > YAML file > profile defaults)")
    group.add_argument("--config", type=Path, help="YAML settings file (default ./hw5.yaml if present)")
    group.add_argument("--settings-json", dest="settings_json", type=Path, help=argparse.SUPPRESS)  # hw5 run's resolved settings
    for f in dataclasses.fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        if flag in parser._option_string_actions or f"--{f.name}" in parser._option_string_actions:
            continue  # the codelab's own flag of that name (hw5 retrain --architecture) sets it
        kind = "comma-separated list" if "Tuple" in str(f.type) else ""
        choices = ("embedded", "real") if f.name == "profile" else None
        group.add_argument(flag, dest=f"setting_{f.name}", choices=choices, metavar=None if choices else f.name.upper(),
                           help={**SETTING_HELP, **(help_for or {})}.get(f.name, f"setting {f.name}" + (f" ({kind})" if kind else "")))


def settings_from(args: argparse.Namespace, with_sources: bool = False):
    """The settings these flags ask for, resolved once (flags > HW5_* > YAML > profile)."""
    import dataclasses

    from . import compat
    from .settings import read_handoff, resolve

    given = {f.name: getattr(args, f"setting_{f.name}", None) for f in dataclasses.fields(Settings)}
    if getattr(args, "settings_json", None):
        extra = sorted(name for name, value in given.items() if value is not None)
        if extra:
            raise HomeworkError(f"--settings-json: cannot be combined with --{extra[0].replace('_', '-')}")
        settings, sources, _ = read_handoff(args.settings_json)
    else:
        settings, sources = resolve(given, config=getattr(args, "config", None))
        if getattr(args, "config", None):
            sources = {**sources, "config": str(args.config)}
    compat.request_gpu_memory(settings.memory_budget_mb)  # before anything starts TensorFlow's devices
    return (settings, sources) if with_sources else settings


def cmd_data(args: argparse.Namespace) -> int:
    from .prepare import failed

    settings = settings_from(args)
    require_tensorflow()
    steps = _prepare(settings)
    _print_steps(steps)
    missing = failed(steps)
    if missing:
        raise HomeworkError(f"not ready: {', '.join(s.name for s in missing)}; each row above says why and how to place it by hand")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from . import doctor

    return doctor.run()


def _prepare(settings: Settings):
    from .prepare import prepare

    return prepare(settings, progress=_progress)


def _print_steps(steps) -> None:
    print(f"{'item':<34} {'state':<14} {'seconds':>8}  detail")
    for step in steps:
        print(f"{step.name:<34} {step.state:<14} {step.seconds:>8.1f}  {step.detail}")


def cmd_run(args: argparse.Namespace) -> int:
    """Prepare the inputs, run the checks with these very settings, write the record and the report."""
    import pytest

    from . import record
    from .prepare import require
    from .real_or_standin import run_lines
    from .settings import inapplicable, write_handoff

    settings, sources = settings_from(args, with_sources=True)
    require_tensorflow(hub=True)  # before pytest, which would report it as a collection error per checks file
    if settings.device_label is None:  # one label for the record, the checks and the benchmarks
        from .device import default_label

        settings = settings.replace(device_label=default_label())
        sources["device_label"] = "this machine (hw5 run)"
    for note in inapplicable(settings, sources):
        print(f"hw5: {note}", file=sys.stderr)
    for line in run_lines(settings):
        print(line, flush=True)
    checks = _checks_dir()
    record_path = Path(args.record) if args.record else record.default_path(settings)
    report_path = Path(args.report) if args.report else _report_path(settings)
    steps = _prepare(settings)
    _print_steps(steps)
    require(steps)  # an optional item (a codelab graph) may be missing: retrain has a fallback
    run = record.RunInfo(sources=sources)
    handoff = record_path.parent / f".{record_path.stem}.settings.json"
    write_handoff(handoff, settings, sources, run.run_id)
    pytest_args = [str(checks), "-p", "no:cacheprovider", f"--hw5-settings={handoff}", f"--record={record_path}"]
    pytest_args += args.pytest_args
    print(f"\nhw5 run: pytest {' '.join(pytest_args)}", flush=True)
    try:
        code = int(pytest.main(pytest_args))
    finally:
        handoff.unlink(missing_ok=True)  # the checks have read it; the record keeps the settings
    if not record_path.exists() or record.read(record_path)["run_id"] != run.run_id:
        print(f"hw5: no check stored a result, so {record_path} was not written and no report was rendered", file=sys.stderr)
        return code
    print(f"hw5: record {record_path}")
    report_args = argparse.Namespace(record=[str(record_path)], answers=_packaged(DEFAULT_ANSWERS), rubric=_packaged(DEFAULT_RUBRIC),
                                     output=str(report_path), baseline=None)
    try:
        cmd_report(report_args)
    except HomeworkError as exc:  # the checks' outcome stands; say why the report is missing
        print(f"hw5: report not written: {exc}", file=sys.stderr)
    return code


def _report_path(settings: Settings) -> Path:
    """answers/report.md beside the default results folder; inside --results-dir otherwise (they move together)."""
    if Path(settings.results_dir) == Settings().results_dir:
        return Path(DEFAULT_REPORT)
    return Path(settings.results_dir) / "report.md"


def _packaged(path: str) -> str:
    """answers/<file> from the working folder when there, else the copy shipped in the package."""
    if Path(path).is_file():
        return path
    from .packaged import packaged_file

    return str(packaged_file(path))


def cmd_report(args: argparse.Namespace) -> int:
    from . import record, report
    from .grading import submissions
    from .grading.rubric import Rubric

    from .grading import inputs, schema

    records = [schema.read_record(path) for path in args.record or [record.default_path(Settings.load({}))]]
    rubric = Rubric.load(_packaged(args.rubric) if args.rubric == DEFAULT_RUBRIC else args.rubric)
    answers = submissions.load(_packaged(args.answers) if args.answers == DEFAULT_ANSWERS else args.answers, rubric)
    out = inputs.output_path(args.output, [*(args.record or []), args.answers, args.rubric], "report")
    rendered = report.render(records, answers, rubric, out, baseline=args.baseline)
    plots = ", ".join(str(p) for p in rendered.plots.values()) or "none"
    print(f"hw5: wrote {rendered.path} (plots: {plots})")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from . import submit

    args.rubric = _packaged(args.rubric) if args.rubric == DEFAULT_RUBRIC else args.rubric
    return submit.command(args)


def cmd_grade(args: argparse.Namespace) -> int:
    from .grading import command

    rubric = _packaged(args.rubric) if args.rubric == DEFAULT_RUBRIC else args.rubric
    return command.run(args, rubric)


def cmd_autograder(args: argparse.Namespace) -> int:
    from .grading import autograder

    return autograder.build_command(args)


def cmd_compare(args: argparse.Namespace) -> int:
    from . import compare, files

    from .grading.inputs import output_path

    out = output_path(args.output, args.runs, "comparison") if args.output else None
    runs = [compare.load(path) for path in args.runs]
    if len(runs) < 2:
        raise HomeworkError("hw5 compare: give at least two runs (records or saved pytest-benchmark files)")
    base = compare.baseline_index(runs, args.baseline)
    differ = compare.mixed_workloads(runs, base)
    notes = [f"- `{runs[i].label}` ran another workload than `{runs[base].label}`: {'; '.join(what)}" for i, what in differ.items()] if args.mixed else []
    text = "\n".join([f"- `{r.label}` ({r.kind}: {r.source}): {r.machine}" for r in runs] + notes) + "\n\n" + compare.markdown(runs, base, args.mixed) + "\n"
    print(text)
    if out:
        files.write_text(out, text)
        print(f"hw5: wrote {out}")
    return 0


DEFAULT_ANSWERS = "answers/answers.yaml"
DEFAULT_RUBRIC = "answers/rubric.yaml"
DEFAULT_REPORT = "answers/report.md"


RETRAIN_RULE = (
    "Which extractor: with a profile given (--profile, HW5_PROFILE, a settings file), that profile's. "
    "Without one, the generated trees get the embedded stand-in, and a folder of your own photos gets a real "
    "extractor: the codelab's frozen graph in --model_dir or in the cache (hw5 data --profile real), else the "
    "TF Hub module, cached or downloaded now; offline with none on disk, retrain stops and says to pass "
    "--profile embedded (stand-in, results labelled so) or to fetch the real one first. "
    "The first line printed says which extractor and images this run uses, real or stand-in.")


def cmd_retrain(args: argparse.Namespace) -> int:
    """The codelab's retrain.py; the extractor follows RETRAIN_RULE (real_or_standin.retrain_profile)."""
    import dataclasses

    from .errors import OfflineError
    from .real_or_standin import no_real_extractor, retrain_lines
    from .tasks.retrain import RetrainConfig, retrain
    from .tasks.retrain_extractor import extractor_source

    settings, sources = settings_from(args, with_sources=True)
    require_tensorflow()
    config = RetrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(RetrainConfig)})
    settings, chosen_for_photos = _retrain_settings(args, config, settings, sources)
    for line in retrain_lines(config, settings, chosen_for_photos):
        print(line, flush=True)
    try:
        (result,) = retrain([config], settings)
    except OfflineError as exc:
        if not chosen_for_photos:
            raise
        raise HomeworkError(no_real_extractor(extractor_source(config, settings), reason=str(exc).split(";")[0])) from None
    if args.report_json:
        from . import files, record
        from .compat import gpus

        files.write_json(args.report_json, {"result": record.to_jsonable(result), "gpus_visible": len(gpus)})
    cache = result.details["cache"]
    print(f"hw5: wrote {config.output_graph} and {config.output_labels}; {cache['hits']} bottlenecks reused, "
          f"{cache['extractor_images']} computed ({'stand-in' if result.stand_in else 'real'} extractor: {result.provenance['extractor']})")
    return 0


def _retrain_settings(args: argparse.Namespace, config, settings: Settings, sources) -> Tuple[Settings, bool]:
    """(settings for this retrain, whether the rule chose the real profile for the user's photos)."""
    from .real_or_standin import choose_retrain_profile

    profile_given = bool(args.settings_json) or sources["profile"] != "default"  # hw5 run's handed-over settings chose one
    profile = choose_retrain_profile(config, settings, profile_given)
    if profile == settings.profile:
        return settings, False
    # as if --profile real were given, so that profile's defaults apply too
    return settings_from(argparse.Namespace(**{**vars(args), "setting_profile": profile})), True


def cmd_label_image(args: argparse.Namespace) -> int:
    require_tensorflow()
    from .tasks.label_image import label_image, print_result

    names = ("graph", "labels", "image", "input_layer", "output_layer", "input_height", "input_width", "input_mean", "input_std")
    print_result(label_image(**{n: getattr(args, n) for n in names}))
    return 0


def add_retrain_flags(parser: argparse.ArgumentParser) -> None:
    """The codelab's retrain.py flags, spelled and defaulted as there."""
    from .tasks.retrain import RetrainConfig

    d = RetrainConfig()
    group = parser.add_argument_group("retrain.py flags")
    group.add_argument("--image_dir", required=True, help="class-per-folder image tree")
    for name, kind, text in [
        ("output_graph", str, "where to save the trained graph"),
        ("output_labels", str, "where to save the labels"),
        ("summaries_dir", str, "TensorBoard summaries folder"),
        ("how_many_training_steps", int, "training steps"),
        ("learning_rate", float, "gradient descent learning rate"),
        ("testing_percentage", float, "percent of images for the test set"),
        ("validation_percentage", float, "percent of images for the validation set"),
        ("eval_step_interval", int, "evaluate every this many steps"),
        ("train_batch_size", int, "images per training step"),
        ("test_batch_size", int, "test images (-1: all)"),
        ("validation_batch_size", int, "validation images per evaluation (-1: all)"),
        ("model_dir", str, "folder with the codelab's frozen-graph archives (real profile: <cache>/codelab, filled by hw5 data)"),
        ("bottleneck_dir", str, "bottleneck cache folder"),
        ("final_tensor_name", str, "name of the output softmax"),
        ("random_crop", float, "percent margin to crop at random"),
        ("random_scale", float, "percent to scale up at random"),
        ("random_brightness", float, "percent to change brightness at random"),
        ("architecture", str, "mobilenet_<1.0|0.75|0.50|0.25>_<224|192|160|128> or inception_v3"),
    ]:
        group.add_argument(f"--{name}", type=kind, default=getattr(d, name), help=f"{text} (default {getattr(d, name)})")
    group.add_argument("--print_misclassified_test_images", action="store_true", help="list misclassified test images")
    group.add_argument("--flip_left_right", action="store_true", help="flip half of the training images")
    parser.add_argument("--report_json", help="also write the run's measurements as JSON here (used by the CPU vs GPU check)")


def _checks_dir() -> Path:
    for candidate in (Path.cwd() / "checks", Path(__file__).resolve().parent.parent / "checks"):
        if (candidate / "conftest.py").is_file() or any(candidate.glob("test_*.py")):
            return candidate
    raise HomeworkError("checks/: not found; run hw5 run from the project checkout (pip install -e .)")


def _progress(index: int, total: int, name: str) -> None:
    width = 24
    done = int(width * index / total)
    print(f"[{'#' * done}{'.' * (width - done)}] {index}/{total} {name}", flush=True)


def version_line() -> str:
    """hw5's version and the installed stack's, read from the packages' metadata (TensorFlow is not
    imported: --version answers at once, and even where TensorFlow is broken)."""
    from importlib import metadata

    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    stack = ", ".join(f"{label} {installed(name)}" for label, name in (("TensorFlow", "tensorflow"), ("Keras", "keras"),
                                                                       ("tf_keras", "tf-keras"), ("TF Hub", "tensorflow-hub")))
    return f"hw5 {__version__} (Python {platform.python_version()}; {stack})"


class _Version(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        print(version_line())  # unwrapped, unlike argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hw5", description="Homework 5 (TF2 and TF1): run, measure, grade, report.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show progress details")
    parser.add_argument("--version", action=_Version, nargs=0, help="show hw5's version and the installed TensorFlow stack's, and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = command("run", cmd_run, "the main job: prepare data and modules, run every homework check, write the record")
    add_settings_flags(p)
    p.add_argument("--record", help="run record to write (default <results-dir>/<device-label>.json)")
    p.add_argument("--report", help="report to write (default answers/report.md, or <results-dir>/report.md with --results-dir)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments after --")

    p = command("report", cmd_report, "render answers/report.md (and its plots) from run records and your answers")
    p.add_argument("--record", nargs="+", help="run record(s); several devices give a side-by-side table (default results/<device-label>.json)")
    p.add_argument("--answers", default=DEFAULT_ANSWERS, help=f"your answers (default {DEFAULT_ANSWERS})")
    p.add_argument("--rubric", default=DEFAULT_RUBRIC, help=argparse.SUPPRESS)
    p.add_argument("-o", "--output", default=DEFAULT_REPORT, help=f"report to write (default {DEFAULT_REPORT})")
    p.add_argument("--baseline", help="device label the side-by-side ratios divide by (default the first record)")

    p = command("submit", cmd_submit, "write submission.zip, the one file to upload to Gradescope: answers, run record(s), report.html/.pdf")
    p.add_argument("--answers", default=DEFAULT_ANSWERS, help=f"answers.yaml or a write-up (.md, .txt, .ipynb) (default {DEFAULT_ANSWERS})")
    p.add_argument("--record", nargs="+", help="run record(s) (default results/<device-label>.json); the first one is the report's")
    p.add_argument("-o", "--output", default="submission.zip", help="zip to write (default submission.zip)")
    p.add_argument("--baseline", help="device label the report's side-by-side ratios divide by (default the first record)")
    p.add_argument("--browser", help="Chromium or Chrome that prints report.pdf (default the first chromium/google-chrome on PATH)")
    p.add_argument("--no-pdf", action="store_true", help="leave report.pdf out (the manifest says so)")
    p.add_argument("--rubric", default=DEFAULT_RUBRIC, help=argparse.SUPPRESS)

    p = command("grade", cmd_grade, "grade written answers (answers.yaml or a Markdown / text write-up) against the rubric")
    from .grading.command import output_arguments

    output_arguments(p)
    p.add_argument("--rubric", default=DEFAULT_RUBRIC, help=f"rubric (default {DEFAULT_RUBRIC})")

    p = command("autograder", cmd_autograder, "build the zip Gradescope takes (setup.sh, run_autograder, the rubric)")
    p.add_argument("-o", "--output", default="autograder.zip", help="zip to write (default autograder.zip)")
    p.add_argument("--accept-profile", action="append", choices=("embedded",),
                   help="embedded: a dry-run autograder that grades embedded (stand-in) records like real ones")

    p = command("compare", cmd_compare, "side-by-side timings of runs from several devices, with ratios to a baseline")
    p.add_argument("runs", nargs="+", help="run records (results/<label>.json) or pytest-benchmark files (.benchmarks/<label>/*.json)")
    p.add_argument("--baseline", help="device label to divide by (default the first run)")
    p.add_argument("-o", "--output", help="also write the table (Markdown) here")
    p.add_argument("--mixed", action="store_true", help="show ratios between runs of different profiles or sizes too (marked)")

    command("doctor", cmd_doctor, "what this machine has and lacks for hw5 (Jetson, JetPack, TensorFlow, GPU), "
                                  "with the command that installs each missing piece")

    p = command("data", cmd_data, "put the data and modules into the cache: built (embedded profile) or fetched (real); idempotent")
    add_settings_flags(p)

    p = command("retrain", cmd_retrain, "TF1: retrain the last layer on cached bottlenecks (the codelab's retrain.py flags)")
    p.epilog = RETRAIN_RULE
    add_retrain_flags(p)
    add_settings_flags(p, help_for={"profile": "embedded or real (default: embedded on the generated trees; on your own photos, "
                                              "real when a real extractor is on hand or downloadable: see below)"})

    p = command("label-image", cmd_label_image, "TF1: label one image with a retrained graph (the codelab's label_image.py flags)")
    p.add_argument("--graph", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--input_layer", default="input")
    p.add_argument("--output_layer", default="final_result")
    p.add_argument("--input_height", type=int, default=224)
    p.add_argument("--input_width", type=int, default=224)
    p.add_argument("--input_mean", type=float, default=128)
    p.add_argument("--input_std", type=float, default=128)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(format="hw5: %(message)s", level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if getattr(args, "pytest_args", None) and args.pytest_args[0] == "--":
        args.pytest_args = args.pytest_args[1:]
    started = time.perf_counter()
    try:
        return args.func(args)
    except HomeworkError as exc:
        print(f"hw5: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # TensorFlow, TF Hub or tf_keras missing or broken: hw5 doctor says what to install
        line = tensorflow_import_error(exc)
        if line is None:
            raise
        print(f"hw5: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nhw5: interrupted after {time.perf_counter() - started:.0f}s", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
