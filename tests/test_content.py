"""Deck validation: every problem reported at its FILE:LINE, all at once."""

from __future__ import annotations

import textwrap

import pytest

from studycli import content


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def lint(tmp_path, *files):
    _, problems = content.lint(list(files), [])
    return problems


GOOD = """\
    topic: good
    title: Good
    cards:
      - id: g-basic
        type: basic
        front: f
        back: b
    """


def test_a_valid_deck_has_no_problems(tmp_path):
    assert lint(tmp_path, write(tmp_path, "good.yaml", GOOD)) == []


@pytest.mark.parametrize(
    "card, line, message",
    [
        ("  - id: x\n    type: essay\n", 5, "unknown card type 'essay'"),
        ("  - id: x\n    front: f\n", 4, "missing field 'type'"),
        ("  - id: x\n    type: basic\n    front: f\n", 4, "missing field 'back'"),
        ("  - id: x\n    type: basic\n    front: f\n    back: b\n    colour: red\n", 8, "unknown field 'colour'"),
        ("  - id: Not_Kebab\n    type: basic\n    front: f\n    back: b\n", 4, "must be kebab-case"),
        ("  - id: x\n    type: mcq\n    question: q\n    choices: [a, b]\n    answer: c\n", 8,
         "'c' is not one of the choices"),
        ("  - id: x\n    type: mcq\n    question: q\n    choices: [a, b]\n    answer: [a, z]\n", 8,
         "'z' is not one of the choices"),
        ("  - id: x\n    type: cloze\n    text: no gaps here\n", 4, "cloze text has no gap"),
        ("  - id: x\n    type: ordering\n    question: q\n    items: [a, b, a]\n", 4, "items repeat"),
        ("  - id: x\n    type: matching\n    question: q\n    pairs: [[a, x], [a, y]]\n", 4, "appears twice"),
        ("  - id: x\n    type: basic\n    front: f\n    back: b\n    related: [nowhere]\n", 4,
         "related 'nowhere' is not a card id or topic"),
        ("  - id: x\n    type: basic\n    front: f\n    front: g\n    back: b\n", 7, "'front' appears twice"),
        ("  - id: x\n    type: code\n    prompt: p\n    check: no_such_check\n", 4, "unknown check"),
        ("  - id: x\n    type: numeric\n    question: q\n    generator: no_such_gen\n", 4, "unknown generator"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v and len(v) < 50 else None,
)
def test_each_problem_names_file_line_and_reason(tmp_path, card, line, message):
    path = write(tmp_path, "deck.yaml", "topic: t\ntitle: T\ncards:\n")
    path.write_text(path.read_text() + card)
    if "check" in message or "generator" in message:
        pytest.importorskip("studycli.grading.generators")
    problems = lint(tmp_path, path)
    assert any(p.startswith(f"{path}:{line}: ") and message in p for p in problems), problems


def test_all_problems_are_reported_not_just_the_first(tmp_path):
    path = write(tmp_path, "deck.yaml", """\
        topic: t
        title: T
        cards:
          - id: a
            type: basic
          - id: b
            type: riddle
          - id: c
            type: mcq
            question: q
            choices: [x, y]
            answer: z
        """)
    problems = lint(tmp_path, path)
    assert [p.split(":")[1] for p in problems] == ["4", "4", "7", "12"]


def test_bad_yaml_and_bad_deck_shapes(tmp_path):
    broken = write(tmp_path, "broken.yaml", "topic: t\ncards: [\n")
    listy = write(tmp_path, "listy.yaml", "- just\n- a list\n")
    incomplete = write(tmp_path, "incomplete.yaml", "topic: Bad Topic\nextra: 1\n")
    problems = lint(tmp_path, broken, listy, incomplete)
    assert any(p.startswith(f"{broken}:3: invalid YAML") for p in problems), problems
    assert any(p.startswith(f"{listy}:1: a deck must be a mapping") for p in problems)
    assert any(p.startswith(f"{incomplete}:1: missing deck field 'cards'") for p in problems)
    assert any(p.startswith(f"{incomplete}:2: unknown deck field 'extra'") for p in problems)
    assert any(p.startswith(f"{incomplete}:1: topic must be kebab-case") for p in problems)


def test_duplicate_ids_and_topics_across_decks(tmp_path):
    one = write(tmp_path, "one.yaml", GOOD)
    two = tmp_path / "two.yaml"
    two.write_text(one.read_text() + "  - id: other\n    type: basic\n    front: f\n    back: b\n")
    problems = lint(tmp_path, one, two)
    assert any("duplicate card id 'g-basic'" in p and p.startswith(str(two)) for p in problems), problems
    assert any("topic 'good' is also used by" in p for p in problems)


def test_load_decks_raises_one_error_with_every_problem(tmp_path):
    write(tmp_path, "bad.yaml", "topic: t\ntitle: T\ncards:\n  - id: a\n    type: basic\n")
    with pytest.raises(content.DeckError) as info:
        content.load_decks([tmp_path])
    assert info.value.problems and "missing field 'front'" in str(info.value)


def test_lint_command_exit_codes(run, tmp_path):
    good = write(tmp_path, "good.yaml", GOOD)
    result = run(["lint", str(good)])
    assert result.exit_code == 0 and "ok: 1 deck(s), 1 card(s)" in result.stderr
    bad = write(tmp_path, "bad.yaml", "topic: t\ntitle: T\ncards:\n  - id: a\n    type: basic\n")
    result = run(["lint", str(bad), str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert f"{bad}:4: missing field" in result.stdout and "missing.yaml:1: no such file" in result.stdout


def test_a_malformed_extra_deck_stops_review_with_one_line(run, tmp_path):
    write(tmp_path, "bad.yaml", "topic: t\ntitle: T\ncards:\n  - id: a\n    type: basic\n")
    result = run(["--content", str(tmp_path), "review"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "bad.yaml:4" in result.stderr


def test_builtin_deck_is_valid():
    from studycli import paths

    decks, problems = content.lint([paths.content_dir()], [])
    assert problems == []
    assert sum(len(d.cards) for d in decks) > 0
