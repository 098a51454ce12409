import subprocess
import sys

from homework.cli import main


def test_help_lists_subcommands(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for command in ("run", "data"):
        assert command in out


def test_version_names_hw5_python_and_the_stack_without_importing_tensorflow():
    import platform

    from homework import __version__

    code = ("import sys\nfrom homework.cli import main\ntry:\n    main(['--version'])\n"
            "except SystemExit as stop:\n    print('exit', stop.code, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    from importlib import metadata

    stack = f"TensorFlow {metadata.version('tensorflow')}, Keras {metadata.version('keras')}"
    version, exit_line = done.stdout.splitlines()
    assert version.startswith(f"hw5 {__version__} (Python {platform.python_version()}; {stack}, ") and version.endswith(")")
    assert exit_line == "exit 0 False", done.stderr


def test_bad_config_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [\n")
    done = subprocess.run([sys.executable, "-m", "homework.cli", "data", "--config", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "bad.yaml: not valid YAML" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_setting_has_a_flag_and_results_dir_moves_the_report(tmp_path):
    import dataclasses

    from homework.cli import _report_path, build_parser, settings_from
    from homework.settings import Settings

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    flags = {option for action in run._actions for option in action.option_strings}
    assert {f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(Settings)} <= flags
    args = build_parser().parse_args(["run", "--results-dir", str(tmp_path / "out"), "--seeds", "4,5"])
    settings = settings_from(args)
    assert settings.seeds == (4, 5) and _report_path(settings) == tmp_path / "out" / "report.md"
    assert str(_report_path(settings_from(build_parser().parse_args(["run"])))) == "answers/report.md"


def test_handed_over_settings_refuse_other_settings_flags(tmp_path):
    from homework.settings import Settings, write_handoff

    write_handoff(tmp_path / "s.json", Settings.load({}, env={}), {}, "x")
    assert main(["data", "--settings-json", str(tmp_path / "s.json"), "--seed", "3"]) == 2
