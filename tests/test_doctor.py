"""`study doctor`: one row per concern, each layer of the grading sandbox with its state."""

from __future__ import annotations


def test_doctor_lists_every_confinement_layer_once(run):
    from studycli.grading import sandbox

    result = run("doctor")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.count("grading sandbox") == 1                  # the label is not repeated in its details
    mode, _ = sandbox.isolation()
    import re

    for layer, on in sandbox.layers(mode).items():
        [state] = [m.group(1) for line in out.splitlines()
                   if (m := re.match(rf"\s+{re.escape(layer)}\s{{2,}}(ok|problem)\s", line))]
        assert (state == "ok") == on, (layer, state)
    assert "decks" in out and "database" in out


def test_doctor_reports_a_damaged_database_without_failing(run, study_env):
    study_env.write_bytes(b"not a database at all")
    result = run("doctor")
    assert result.exit_code == 0 and "problem" in result.stdout and "not a studycli database" in result.stdout
