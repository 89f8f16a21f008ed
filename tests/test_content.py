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


# ---------------------------------------------------------------- exam-writing faults

SOURCE = "https://docs.aws.amazon.com/bedrock/latest/userguide/what-is-bedrock.html"
WELL_FORMED = {
    "mcq-two": f"""\
      - id: w-two
        type: mcq
        source: {SOURCE}
        question: A team wants two things. Which services meet these requirements? (Choose TWO.)
        choices: [Amazon Bedrock, Amazon Comprehend, Amazon Polly, Amazon Lex, Amazon Rekognition]
        answer: [Amazon Bedrock, Amazon Comprehend]
    """,
    "mcq-one": f"""\
      - id: w-one
        type: mcq
        source: "notes: Amazon-Bedrock"
        question: A company wants API access to foundation models. Which service meets this need?
        choices: [Amazon Bedrock, Amazon Polly, Amazon Lex, Amazon Textract]
        answer: Amazon Bedrock
    """,
    "numeric": """\
      - id: w-num
        type: numeric
        generator: head_dim
        question: A model has d_model = {d_model} and {n_head} heads. How wide is each head?
    """,
}
FAULTY = {
    "few-choices": (WELL_FORMED["mcq-two"].replace("Amazon Polly, Amazon Lex, ", ""),
                    "multiple response needs at least 5 choices, not 3"),
    "cites-notes": (WELL_FORMED["mcq-one"].replace("A company wants", "According to the notes, a company wants"),
                    "the stem cites the notes"),
    "cites-table": (WELL_FORMED["mcq-one"].replace("Which service", "In the table, which service"),
                    "the stem cites the notes"),
    "long-key": (WELL_FORMED["mcq-one"].replace(
        "choices: [Amazon Bedrock,", "choices: [Amazon Bedrock with its managed foundation models,").replace(
        "answer: Amazon Bedrock", "answer: Amazon Bedrock with its managed foundation models"),
        "the key is more than 1.3x longer"),
    "placeholder": (WELL_FORMED["numeric"].replace("{n_head} heads", "{heads} heads"),
                    "names {heads}, which generator 'head_dim' does not make"),
    "no-source": (WELL_FORMED["mcq-one"].replace('        source: "notes: Amazon-Bedrock"\n', ""),
                  "an exam-style card needs a source"),
    "escape": (WELL_FORMED["mcq-one"].replace("question: A", 'question: "A').replace(
        "need?", 'need?\\e]52;c;aGk=\\a"'), "control or terminal escape"),
}


def deck_with(card_yaml: str) -> str:
    return "topic: w\ntitle: W\ncards:\n" + textwrap.indent(textwrap.dedent(card_yaml), "  ")


@pytest.mark.parametrize("name", sorted(WELL_FORMED))
def test_well_formed_exam_items_pass_lint(tmp_path, name):
    pytest.importorskip("studycli.grading.generators")
    assert lint(tmp_path, write(tmp_path, "w.yaml", deck_with(WELL_FORMED[name]))) == []


@pytest.mark.parametrize("name", sorted(FAULTY))
def test_each_exam_writing_fault_is_reported_at_its_card(tmp_path, name):
    pytest.importorskip("studycli.grading.generators")
    card_yaml, expected = FAULTY[name]
    path = write(tmp_path, "w.yaml", deck_with(card_yaml))
    problems = lint(tmp_path, path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:4: ") and expected in problems[0], problems


def test_lint_command_exits_2_on_an_exam_writing_fault(run, tmp_path):
    path = write(tmp_path, "w.yaml", deck_with(FAULTY["few-choices"][0]))
    result = run(f"lint {path}")
    assert result.exit_code == 2 and "multiple response needs at least 5 choices" in result.stdout


def test_a_complex_yaml_key_is_a_lint_error_not_a_traceback(tmp_path):
    path = write(tmp_path, "k.yaml", "topic: k\ntitle: K\ncards:\n  - ? [a, b]\n    : 1\n")
    [problem] = lint(tmp_path, path)
    assert problem.startswith(f"{path}:4: invalid YAML") and "plain text" in problem


def test_a_deck_reusing_a_built_in_id_or_topic_fails_lint(tmp_path):
    from studycli import paths

    path = write(tmp_path, "mine.yaml", """\
        topic: self-attention
        title: Mine
        cards:
          - id: sa-purpose
            type: basic
            front: f
            back: b
        """)
    _, problems = content.lint([path], [paths.content_dir()])
    assert any("topic 'self-attention' is also used by" in p for p in problems)
    assert any("duplicate card id 'sa-purpose'" in p for p in problems)


def test_decks_are_capped_in_size_and_card_count(tmp_path, monkeypatch):
    many = "topic: many\ntitle: Many\ncards:\n" + "".join(
        f"  - {{id: c{i}, type: basic, front: f, back: b}}\n" for i in range(content.MAX_CARDS_PER_DECK + 1))
    [problem] = lint(tmp_path, write(tmp_path, "many.yaml", many))
    assert "at most 2000" in problem and ":3:" in problem
    monkeypatch.setattr(content, "MAX_DECK_BYTES", 1000)
    [problem] = lint(tmp_path, write(tmp_path, "big.yaml", GOOD + "# " + "x" * 2000 + "\n"))
    assert problem.startswith(str(tmp_path / "big.yaml") + ":1:") and "split it" in problem
