"""A stand-in check for tests/test_real_profile.py: stores the settings a check receives, so a
test can follow each `hw5 run` flag from the command line to the record. Not collected by a
plain `pytest` (its name does not start with test_); `hw5 run -- tests/probes/settings_probe.py`
runs it beside checks/."""
from homework.tasks.result import TaskResult


def test_settings_probe(settings, store):
    store("settings_probe", TaskResult.of("settings_probe", inputs=[settings], provenance={"seen_by_check": settings.as_dict()},
                                          metrics={"seed": settings.seed}, timings={}))
