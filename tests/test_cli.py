import subprocess
import sys

from homework.cli import main


def test_help_lists_subcommands(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for command in ("run", "data"):
        assert command in out


def test_bad_config_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [\n")
    done = subprocess.run([sys.executable, "-m", "homework.cli", "data", "--config", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "bad.yaml: not valid YAML" in done.stderr
    assert "Traceback" not in done.stderr
