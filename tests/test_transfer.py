"""Export and import of progress (a lossless JSON round trip), and the Anki package."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import date
from pathlib import Path

import pytest

from studycli import transfer

PROGRESS_TABLES = {   # table: columns that are progress (the rest of `cards` is deck bookkeeping)
    "cards": "id, topic, type, data, position, retired",
    "card_states": "card_id, ef, repetitions, interval, due, lapses",
    "reviews": "*",
    "submissions": "*",
    "exams": "*",
    "exam_answers": "*",
}


def dump(db: Path) -> dict:
    """Every progress row of the database, straight from SQLite."""
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT {cols} FROM {t} ORDER BY 1, 2").fetchall() for t, cols in PROGRESS_TABLES.items()}


@pytest.fixture
def history(run, study_env, tmp_path, monkeypatch):
    """A database with reviews, a same-day repeat, an exam, a code submission and a retired card."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "gone.yaml").write_text(
        "topic: gone\ntitle: Gone\ncards:\n  - id: g-old\n    type: basic\n    front: Old question?\n"
        "    back: \"Old answer, with unicode: é → ∑.\"\n")
    monkeypatch.setenv("STUDYCLI_CONTENT", str(extra))
    assert run("review --type basic", input="\n5\n\n2\n\n4\n").exit_code == 0
    monkeypatch.setenv("STUDYCLI_TODAY", "2026-01-03")
    assert run("review", input="\n4\n\n3\n\n4\nb\n").exit_code == 0
    assert run("exam --questions 3 --seed 5", input="a\n1 2 3 4\n").exit_code == 0
    from studycli import session
    from studycli.store import Submission

    store, _ = session.open_study()
    store.add_submission(Submission(card_id="b-front", check_name="softmax", submitted_at="2026-01-03T10:00:00.000+00:00",
                                    study_day=date(2026, 1, 3), status="pass", duration_ms=12, code="def softmax(x):\n    ...\n",
                                    verdict=json.dumps({"status": "pass", "cases": []})))
    (extra / "gone.yaml").unlink()            # g-old is retired but keeps its history
    monkeypatch.delenv("STUDYCLI_CONTENT")
    assert run("stats --json").exit_code == 0
    with sqlite3.connect(study_env) as conn:
        assert conn.execute("SELECT retired FROM cards WHERE id='g-old'").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM reviews WHERE card_id='g-old'").fetchone()[0] >= 1
        assert conn.execute("SELECT count(*) FROM exam_answers").fetchone()[0] == 3
    return study_env


def test_round_trip_is_lossless_and_identical(run, history, tmp_path, monkeypatch):
    first = tmp_path / "progress.json"
    result = run(f"export {first}")
    assert result.exit_code == 0, result
    assert "wrote" in result.stderr and "1 exams" in result.stderr
    data = json.loads(first.read_text())
    assert data["format"] == "studycli-progress" and data["version"] == transfer.VERSION

    fresh = tmp_path / "fresh.db"
    monkeypatch.setenv("STUDYCLI_DB", str(fresh))
    result = run(f"import {first}")
    assert result.exit_code == 0, result
    assert dump(fresh) == dump(history)                     # row for row, the same progress
    second = tmp_path / "again.json"
    assert run(f"export {second}").exit_code == 0
    assert second.read_bytes() == first.read_bytes()

    # The restored database works on: the retired card's history is there, stats agree.
    monkeypatch.setenv("STUDYCLI_DB", str(history))
    before = json.loads(run("stats --json").stdout)
    monkeypatch.setenv("STUDYCLI_DB", str(fresh))
    assert json.loads(run("stats --json").stdout) == before


def test_export_to_stdout_and_import_from_stdin(run, history, tmp_path, monkeypatch):
    text = run("export -").stdout
    monkeypatch.setenv("STUDYCLI_DB", str(tmp_path / "piped.db"))
    result = run("import -", input=text)
    assert result.exit_code == 0, result
    assert dump(tmp_path / "piped.db") == dump(history)


def test_import_refuses_a_database_with_progress_unless_replace(run, history, tmp_path):
    path = tmp_path / "progress.json"
    run(f"export {path}")
    run("review --type basic --new 5", input="")            # nothing changes, just opens
    before = dump(history)
    result = run(f"import {path}")
    assert result.exit_code == 2
    assert "already holds progress" in result.stderr and "--replace" in result.stderr
    assert result.stderr.count("\n") == 1
    assert dump(history) == before
    # --replace swaps the progress for the file's (here: the same), in one transaction.
    result = run(f"import --replace {path}")
    assert result.exit_code == 0, result
    assert dump(history) == before


def rewrite(data: dict, **changes) -> str:
    """The file's text after `changes`, with a checksum that matches again (a well-formed file)."""
    data = {**data, **changes}
    data["checksum"] = transfer.checksum(data)
    return transfer.dumps(data)


@pytest.mark.parametrize("case", [
    "truncated", "foreign-json", "other-version", "edited", "bad-type", "bad-date", "unknown-card-late",
    "missing-file", "binary", "missing-section",
])
def test_damaged_or_foreign_files_change_nothing_and_say_why(run, history, tmp_path, case, monkeypatch):
    good = tmp_path / "good.json"
    run(f"export {good}")
    text = good.read_text()
    data = json.loads(text)
    bad = tmp_path / "bad.json"
    expected = {
        "truncated": "invalid JSON at line",
        "foreign-json": "not a studycli progress file",
        "other-version": "version 2; this studycli reads version 1",
        "edited": "checksum does not match",
        "bad-type": "reviews[0].quality = \"high\" is not an integer",
        "bad-date": "states[0].due = \"2026-02-30\" is not a date",
        "unknown-card-late": "does not fit this database",
        "missing-file": "cannot read",
        "binary": "not UTF-8",
        "missing-section": "'exams' is missing",
    }[case]
    if case == "truncated":
        bad.write_text(text[: len(text) // 2])
    elif case == "foreign-json":
        bad.write_text(json.dumps({"cards": [], "hello": "world"}))
    elif case == "other-version":
        bad.write_text(rewrite(data, version=2))
    elif case == "edited":
        bad.write_text(text.replace('"quality": 5', '"quality": 4', 1))
    elif case == "bad-type":
        reviews = [dict(data["reviews"][0], quality="high")] + data["reviews"][1:]
        bad.write_text(rewrite(data, reviews=reviews))
    elif case == "bad-date":
        states = [dict(data["states"][0], due="2026-02-30")] + data["states"][1:]
        bad.write_text(rewrite(data, states=states))
    elif case == "unknown-card-late":
        # Everything is well formed, but the last exam answer names a card the file does not have:
        # the import fails after writing cards, states and reviews, which must all roll back.
        answers = data["exam_answers"][:-1] + [dict(data["exam_answers"][-1], card_id="no-such-card")]
        bad.write_text(rewrite(data, exam_answers=answers))
    elif case == "missing-file":
        bad = tmp_path / "nope.json"
    elif case == "binary":
        bad.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    elif case == "missing-section":
        partial = {k: v for k, v in data.items() if k != "exams"}
        bad.write_text(json.dumps({**partial, "checksum": transfer.checksum(partial)}))
    fresh = tmp_path / "fresh.db"
    monkeypatch.setenv("STUDYCLI_DB", str(fresh))
    run("stats --json")                                      # a synced database with no progress
    before = dump(fresh)
    result = run(f"import {bad}")
    assert result.exit_code == 2, result
    assert expected in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert dump(fresh) == before


def test_export_to_a_missing_folder_is_one_line(run, history, tmp_path):
    result = run(f"export {tmp_path / 'no' / 'such' / 'dir.json'}")
    assert result.exit_code == 2 and "cannot write" in result.stderr and result.stderr.count("\n") == 1
    result = run(f"export {tmp_path}")
    assert result.exit_code == 2 and "is a folder" in result.stderr
    result = run(f"export --topic basics {tmp_path / 'p.json'}")
    assert result.exit_code == 2 and "--topic goes with --anki" in result.stderr
    result = run(f"export --anki --topic nope {tmp_path / 'd.apkg'}")
    assert result.exit_code == 2 and "no topic 'nope'" in result.stderr
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "d.apkg").exists()


def test_a_failed_export_leaves_the_old_file_alone(run, history, tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    path.write_text("previous export")

    def broken(store):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(transfer, "progress", broken)
    with pytest.raises(RuntimeError):
        transfer.export_progress(None, str(path))
    assert path.read_text() == "previous export"


# ---------------------------------------------------------------- Anki


def open_apkg(path: Path, tmp_path: Path) -> sqlite3.Connection:
    with zipfile.ZipFile(path) as package:
        assert "collection.anki2" in package.namelist()
        package.extract("collection.anki2", tmp_path / "unzipped")
    return sqlite3.connect(tmp_path / "unzipped" / "collection.anki2")


def test_anki_package_holds_every_card_with_stable_ids(run, study_env, tmp_path):
    result = run(f"export --anki {tmp_path / 'deck.apkg'}")
    assert result.exit_code == 0, result
    cards = {c["id"]: c for c in json.loads(run("cards --json").stdout)}
    conn = open_apkg(tmp_path / "deck.apkg", tmp_path)
    notes = conn.execute("SELECT id, guid, mid, tags, flds FROM notes").fetchall()
    by_card = {flds.split("\x1f")[-1]: (nid, guid, mid, tags, flds.split("\x1f")) for nid, guid, mid, tags, flds in notes}
    assert set(by_card) == set(cards)                        # every card, each once
    models = json.loads(conn.execute("SELECT models FROM col").fetchone()[0])
    names = {int(mid): m["name"] for mid, m in models.items()}
    for card_id, (nid, guid, mid, tags, fields) in by_card.items():
        card = cards[card_id]
        assert names[mid] == f"studycli {card['type']}"    # one note type per card type
        assert card["topic"] in tags.split()
    assert "What a token is looking for." in by_card["b-front"][4][1]
    assert "{{c1::sqrt(d_k)}}" in by_card["b-cloze"][4][0]
    assert "Amazon Bedrock" in by_card["c-single"][4][1] and "S3" not in by_card["c-single"][4][1]
    assert "T5" in by_card["c-multi"][4][1] and "BART" in by_card["c-multi"][4][1]
    assert "Claude → Anthropic" in by_card["c-match"][4][1]
    # A cloze note has one card per gap; the others one card each.
    per_note = dict(conn.execute("SELECT nid, count(*) FROM cards GROUP BY nid").fetchall())
    assert per_note[by_card["b-cloze"][0]] == 2 and per_note[by_card["b-front"][0]] == 1
    decks = {d["name"] for d in json.loads(conn.execute("SELECT decks FROM col").fetchone()[0]).values()}
    assert {"studycli::basics", "studycli::choices"} <= decks

    # A second export gives the same note ids and guids, so Anki updates instead of duplicating.
    assert run(f"export --anki {tmp_path / 'again.apkg'}").exit_code == 0
    again = open_apkg(tmp_path / "again.apkg", tmp_path / "2")
    assert sorted(again.execute("SELECT id, guid, mid FROM notes").fetchall()) == sorted(
        (nid, guid, mid) for nid, guid, mid, _, _ in notes)
    assert sorted(again.execute("SELECT id FROM cards")) == sorted(conn.execute("SELECT id FROM cards"))


def test_anki_numeric_and_code_cards_say_where_to_practise(tmp_path):
    from studycli.content import CodeCard, NumericCard

    code = CodeCard(id="k-softmax", type="code", topic="t", prompt="Write `softmax(x)`.", check="softmax",
                    hints=["Subtract the max."])
    kind, fields = transfer.anki_fields(code)
    assert kind == "code" and "study stub k-softmax" in fields[1] and "Subtract the max." in fields[0]
    numeric = NumericCard(id="k-dim", type="numeric", topic="t", generator="head_dim",
                          question="A model has d_model = {d_model} and {n_head} heads. Head size?")
    kind, fields = transfer.anki_fields(numeric)
    assert kind == "numeric" and "study review" in fields[0]
    if "{d_model}" not in fields[0]:              # with the generators installed: one worked instance
        import re

        d_model, n_head = map(int, re.search(r"d_model = (\d+) and (\d+) heads", fields[0]).groups())
        assert f"<b>{d_model // n_head}</b>" in fields[1]


def test_settings_survive_export_and_import(run, study_env, tmp_path, monkeypatch):
    assert run("config new-per-day 33").exit_code == 0
    assert run("config exam-date 2026-06-30").exit_code == 0
    out = tmp_path / "p.json"
    assert run(f"export {out}").exit_code == 0
    monkeypatch.setenv("STUDYCLI_DB", str(tmp_path / "other.db"))
    assert run(f"import {out}").exit_code == 0
    assert json.loads(run("config --json").stdout) | {} == {
        "new-per-day": "33", "exam-date": "2026-06-30", "scheduler": "sm2", "desired-retention": "0.9",
        "fsrs-parameters": ""}


@pytest.mark.parametrize("record, why", [
    ({"key": "new-per-day", "value": "-3"}, "new-per-day must be"),
    ({"key": "colour", "value": "blue"}, "no setting 'colour'"),
])
def test_a_bad_setting_in_a_progress_file_imports_nothing(run, tmp_path, record, why):
    out = tmp_path / "p.json"
    assert run(f"export {out}").exit_code == 0
    data = json.loads(out.read_text())
    data["settings"] = [record]
    data["checksum"] = transfer.checksum(data)
    out.write_text(json.dumps(data))
    result = run(f"--db {tmp_path / 'new.db'} import {out}")
    assert result.exit_code == 2 and why in result.stderr and "nothing was imported" in result.stderr


@pytest.mark.parametrize("field, value", [("ef", 1e309), ("interval", -4), ("repetitions", 2**63 - 1)])
def test_out_of_range_values_in_a_progress_file_import_nothing(run, history, tmp_path, field, value):
    out = tmp_path / "p.json"
    assert run(f"export {out}").exit_code == 0
    data = json.loads(out.read_text())
    data["states"][0][field] = value
    data["checksum"] = transfer.checksum(data)
    out.write_text(json.dumps(data))
    result = run(f"--db {tmp_path / 'new.db'} import {out}")
    assert result.exit_code == 2 and f".{field} = " in result.stderr and "nothing was imported" in result.stderr


def test_a_deeply_nested_progress_file_is_one_line(run, tmp_path):
    out = tmp_path / "deep.json"
    out.write_text("[" * 100_000 + "]" * 100_000)
    result = run(f"--db {tmp_path / 'new.db'} import {out}")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
