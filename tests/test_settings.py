from pathlib import Path

import pytest

from homework.errors import HomeworkError
from homework.settings import Settings


def test_defaults_are_embedded_and_small():
    s = Settings.load({}, env={})
    assert s.profile == "embedded" and s.stand_in
    assert s.flowers_images_per_class < 3670 and s.transfer_image_size < 224  # small data; steps stay the homework's 4000


def test_real_profile_uses_the_homeworks_sizes():
    s = Settings.load({"profile": "real"}, env={})
    assert s.training_steps == 4000 and s.transfer_image_size == 224 and not s.stand_in


def test_precedence_cli_over_env_over_yaml(tmp_path):
    config = tmp_path / "hw5.yaml"
    config.write_text("seed: 1\nbatch_size: 8\ntraining_steps: 10\nlearning_rates: [0.1, 0.2]\n")
    env = {"HW5_SEED": "2", "HW5_BATCH_SIZE": "16"}
    s = Settings.load({"seed": 3}, env=env, config=config)
    assert s.seed == 3  # CLI
    assert s.batch_size == 16  # env over YAML
    assert s.training_steps == 10  # YAML over default
    assert s.learning_rates == (0.1, 0.2)


def test_env_lists_and_paths():
    s = Settings.load({}, env={"HW5_LEARNING_RATES": "0.5, 1.0", "HW5_CACHE_DIR": "/tmp/x", "HW5_FLOWERS_DIR": "~/f"})
    assert s.learning_rates == (0.5, 1.0)
    assert s.cache_dir == Path("/tmp/x")
    assert s.flowers_dir == Path("~/f").expanduser()


def test_profile_from_yaml_picks_its_defaults(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("profile: real\n")
    assert Settings.load({}, env={}, config=config).training_steps == 4000


@pytest.mark.parametrize(
    "yaml_text, message",
    [("nonsense: 1\n", "unknown setting 'nonsense'"), ("seed: abc\n", "setting 'seed' must be a whole number"), ("seed: 1.9\n", "setting 'seed' must be a whole number, got 1.9"),
     ("batch_size: 0\n", "setting 'batch_size' = 0 (from settings file"), ("learning_rates: []\n", "'learning_rates' = () (from settings file"),
     ("testing_percentage: 120\n", "must be a percentage in [0, 100)"), ("seeds: [0, true]\n", "setting 'seeds' must be a whole number"), ("- 1\n", "must be a mapping"), ("seed: [\n", "not valid YAML")],
)
def test_bad_settings_file_is_one_line_naming_it(tmp_path, yaml_text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)
    with pytest.raises(HomeworkError) as err:
        Settings.load({}, env={}, config=config)
    assert message in str(err.value) and "bad.yaml" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("flag, value, message", [
    ("batch_size", "0", "must be a positive whole number"), ("training_steps", "-5", "must be a positive whole number"),
    ("transfer_epochs", "0", "must be a positive whole number"), ("seeds", "", "must list at least one value"),
    ("own_images_per_class", "3,0", "must be positive whole numbers"), ("learning_rates", "0.01,-1", "must be positive numbers"),
    ("dropout_values", "0.2,1", "must each lie in [0, 1)"), ("memory_budget_mb", "-1", "must be 0 or more"),
])
def test_out_of_range_settings_are_one_line_naming_setting_value_and_source(flag, value, message):
    with pytest.raises(HomeworkError) as err:
        Settings.load({}, env={f"HW5_{flag.upper()}": value})
    text = str(err.value)
    assert f"setting '{flag}'" in text and message in text and "environment (HW5_*)" in text and "\n" not in text


def test_percentages_summing_past_100_are_refused_and_the_codelab_split_passes():
    with pytest.raises(HomeworkError, match="leaves no training images"):
        Settings.load({"validation_percentage": "50", "testing_percentage": "50"}, env={})
    assert Settings.load({"validation_percentage": "10", "testing_percentage": "10"}, env={}).testing_percentage == 10


def test_unknown_profile_rejected():
    with pytest.raises(HomeworkError, match="profile"):
        Settings.load({"profile": "cloud"}, env={})


def test_settings_that_cannot_apply_say_so():
    from homework.settings import inapplicable, resolve

    settings, sources = resolve({"profile": "real", "flowers_images_per_class": 9, "flowers_image_px": 64}, env={})
    notes = inapplicable(settings, sources)
    assert len(notes) == 2 and all("has no effect" in n and "\n" not in n for n in notes)
    assert "flowers_images_per_class (command line)" in notes[0]
    settings, sources = resolve({"flowers_images_per_class": 9, "flowers_image_px": 64}, env={})
    assert inapplicable(settings, sources) == []  # the embedded generator uses both
    settings, sources = resolve({"profile": "real"}, env={})
    assert inapplicable(settings, sources) == []  # profile defaults are not "given"


def test_handoff_round_trip(tmp_path):
    from homework.settings import read_handoff, resolve, write_handoff

    settings, sources = resolve({"seed": 4, "learning_rates": "0.5,1", "flowers_dir": str(tmp_path)}, env={"HW5_BATCH_SIZE": "8"})
    write_handoff(tmp_path / "s.json", settings, sources, "abc")
    assert read_handoff(tmp_path / "s.json") == (settings, sources, "abc")
    (tmp_path / "bad.json").write_text('{"settings": {"nonsense": 1}, "sources": {}, "run_id": "x"}')
    with pytest.raises(HomeworkError, match="bad.json: unknown setting 'nonsense'"):
        read_handoff(tmp_path / "bad.json")
