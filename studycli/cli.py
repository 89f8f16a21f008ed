"""The `study` command: parse, call one function that does the work, print. Nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from studycli.errors import StudyError, UsageError

app = typer.Typer(
    help="Spaced-repetition exam prep for transformers, LLM sampling and AWS generative AI.",
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
TopicOption = Annotated[Optional[str], typer.Option(help="Only cards of this topic.")]
UnsafeOption = Annotated[bool, typer.Option("--unsafe", help="Grade code even where the kernel offers no sandbox (your code then has all your file rights).")]
ModelOption = Annotated[Optional[Path], typer.Option(metavar="DIR", help="A GPT-2 checkpoint directory (default: the shipped Shakespeare model).")]


def _allow_unconfined(unsafe: bool) -> None:
    """--unsafe: the learner opts in to grading without a sandbox (the grader reads this variable)."""
    if unsafe:
        import os

        os.environ["STUDYCLI_UNSAFE_GRADING"] = "1"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"studycli {version('studycli')}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    _show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
    db: Annotated[Optional[Path], typer.Option(metavar="FILE", help="SQLite file (default: $STUDYCLI_DB, else the user data dir).")] = None,
    content: Annotated[Optional[list[Path]], typer.Option(metavar="DIR", help="Extra deck folder (repeatable; also $STUDYCLI_CONTENT).")] = None,
) -> None:
    """Spaced-repetition exam prep for transformers, LLM sampling and AWS generative AI.

    Run without a command for today's dashboard. Example: study review
    """
    from studycli import paths

    ctx.obj = paths.resolve(db, content)
    if ctx.invoked_subcommand is None:
        from studycli import session, stats, ui

        from studycli import settings

        with session.open_for_reading(ctx.obj) as conn:
            numbers = stats.overview(conn, ctx.obj.today, session.todays_new_limit(conn, ctx.obj.today))
            numbers["readiness"] = stats.readiness_report(conn, ctx.obj.today, settings.policy(conn))
        ui.dashboard(numbers, numbers["due_today"] + numbers["new_left_today"])


@app.command(short_help="Review today's due cards, then new ones.")
def review(
    ctx: typer.Context,
    topic: TopicOption = None,
    card_type: Annotated[Optional[str], typer.Option("--type", help="Only cards of this type, e.g. code.")] = None,
    new: Annotated[Optional[int], typer.Option("--new", help="New cards to introduce today at most (default: the new-per-day setting, 20).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Stop after this many cards.")] = None,
    unsafe: UnsafeOption = False,
) -> None:
    """Review the cards due today, then new ones; every answer is saved as you go.

    Example: study review --topic self-attention --limit 10
    """
    from functools import partial

    from studycli import dbfile, practice, session, settings, ui

    _allow_unconfined(unsafe)
    today = ctx.obj.today
    store, cards = session.open_study(ctx.obj)
    if store.created:
        ui.note(f"created a new progress database at {store.path}")
    with dbfile.reader(store.path) as conn:   # just synced: read the settings plainly
        policy = settings.policy(conn)
        if new is None:   # with an exam date ahead, the plan's pace; else the new-per-day setting
            new = session.todays_new_limit(conn, today)
    queue = session.todays_queue(store, cards, today, new_limit=new, limit=limit, topic=topic, card_type=card_type)
    terminal = ui.Terminal()
    code_runner = partial(practice.practise, store=store, today=today)
    terminal.summary(session.run_review(store, cards, queue, today, terminal, code_runner=code_runner,
                                        policy=policy))


@app.command(short_help="List cards with their schedule.")
def cards(
    ctx: typer.Context,
    topic: TopicOption = None,
    card_type: Annotated[Optional[str], typer.Option("--type", help="Only cards of this type, e.g. mcq.")] = None,
    due: Annotated[bool, typer.Option("--due", help="Only cards due today.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List cards with their schedule.

    Example: study cards --topic llm-parameters --due
    """
    from studycli import session, ui

    store, all_cards = session.open_study(ctx.obj, reading=True)
    rows = session.card_rows(store, all_cards, ctx.obj.today, topic=topic, card_type=card_type, due_only=due)
    ui.card_list(rows, as_json=as_json)


@app.command(short_help="Show one card, its schedule and history.")
def show(ctx: typer.Context, card_id: Annotated[str, typer.Argument(help="The card's id.")], as_json: JsonOption = False) -> None:
    """Show one card: question, answer, schedule, history and related cards.

    Example: study show sa-qkv-roles
    """
    from studycli import session, ui

    store, all_cards = session.open_study(ctx.obj, reading=True)
    ui.card_details(session.card_details(store, all_cards, card_id), as_json=as_json)


@app.command(short_help="Take back the last answer.")
def undo(ctx: typer.Context) -> None:
    """Take back the last answer: its log entry goes and the card's schedule is restored.

    Example: study undo
    """
    from studycli import session, ui

    store, _ = session.open_study(ctx.obj)
    ui.undone(store.undo_last())


@app.command(short_help="Progress per topic, streak, heatmap, forecast.")
def stats(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show progress per topic (new, learning, mature, due, retention, EF, code checks), the streak,
    a 12-week heatmap, a 30-day forecast and the weakest cards.

    Example: study stats --json
    """
    from studycli import exam, session, settings, stats as progress, ui

    today = ctx.obj.today
    with session.open_for_reading(ctx.obj) as conn:
        report = progress.report(conn, today)
        policy = settings.policy(conn)
        plan = session.study_plan(conn, today, policy.exam_date) if policy.exam_date and policy.exam_date > today else None
        report["readiness"] = progress.readiness_report(conn, today, policy, plan)
    ui.stats(report, as_json=as_json, domain_names=exam.DOMAIN_NAMES)


@app.command(short_help="List or change the settings.")
def config(
    ctx: typer.Context,
    key: Annotated[Optional[str], typer.Argument(help="A setting: new-per-day, exam-date, scheduler, desired-retention.")] = None,
    value: Annotated[Optional[str], typer.Argument(help="Its new value (omit to show it).")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the settings, show one, or set one; they live in the database.

    Example: study config new-per-day 30
    """
    from studycli import session, settings, ui

    if value is not None:
        stored = settings.parse(key, value)
        rebuilt = session.change_setting(ctx.obj, key, stored)
        ui.note(f"{key} = {stored} (saved in {ctx.obj.db})")
        if rebuilt is not None:
            ui.note(f"the due dates of {rebuilt} reviewed card(s) now follow {stored if key == 'scheduler' else 'it'}")
        return
    if key is not None and key not in settings.SETTINGS:
        raise UsageError(f"no setting {key!r}; settings: {', '.join(settings.SETTINGS)}")
    with session.open_for_reading(ctx.obj) as conn:
        values = settings.read_all(conn)
    if key is not None:
        values = {key: values[key]}
    if as_json:
        return ui.emit_json(values)
    ui.settings_list(values, {k: s.meaning for k, s in settings.SETTINGS.items()})


@app.command("fit-fsrs", short_help="Fit FSRS's parameters to your review log.")
def fit_fsrs(ctx: typer.Context) -> None:
    """Fit FSRS's 21 parameters to your own review log (1,000 reviews or more; needs
    pip install 'fsrs[optimizer]') and schedule with them from now on.

    Example: study fit-fsrs && study config scheduler fsrs
    """
    from studycli import session, ui

    parameters, reviews, rebuilt = session.fit_fsrs(ctx.obj)
    ui.note(f"fitted FSRS to {reviews} reviews; saved as the fsrs-parameters setting")
    if rebuilt:
        ui.note(f"the due dates of {rebuilt} reviewed card(s) now follow the fitted FSRS")


@app.command(short_help="Plan the days up to your exam.")
def plan(
    ctx: typer.Context,
    exam_date: Annotated[Optional[str], typer.Option("--exam-date", metavar="YYYY-MM-DD", help="Set the exam date (saved) and plan toward it.")] = None,
    as_json: JsonOption = False,
) -> None:
    """How many new cards a day introduce the whole deck a week before your exam, and day by day
    what comes due and how long it takes.

    Example: study plan --exam-date 2027-02-15
    """
    from studycli import session, settings, ui

    today = ctx.obj.today
    if exam_date is not None:
        session.change_setting(ctx.obj, "exam-date", settings.parse("exam-date", exam_date))
    with session.open_for_reading(ctx.obj) as conn:
        exam_on = settings.policy(conn).exam_date
        if exam_on is None:
            raise UsageError("no exam date yet: study plan --exam-date YYYY-MM-DD (or study config exam-date ...)")
        schedule = session.study_plan(conn, today, exam_on)
    if as_json:
        return ui.emit_json(schedule.to_dict())
    ui.study_plan(schedule.to_dict())


@app.command(short_help="Sit a timed mock exam in the AIF-C01 form.")
def exam(
    ctx: typer.Context,
    questions: Annotated[Optional[int], typer.Option(help="Questions to draw (default 65, as AIF-C01).")] = None,
    minutes: Annotated[Optional[float], typer.Option(help="Time allowed (default 90 for 65 questions, pro rata).")] = None,
    topic: TopicOption = None,
    seed: Annotated[Optional[str], typer.Option(help="Draw the same paper again.")] = None,
    history: Annotated[bool, typer.Option("--history", help="List past attempts and their scores.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --history: print JSON.")] = False,
) -> None:
    """Sit a timed mock exam in the AIF-C01 form; missed questions come back in today's reviews.

    Example: study exam --questions 20 --seed 7
    """
    import sys

    from studycli import exam as mock, session, ui

    store, all_cards = session.open_study(ctx.obj, reading=history)
    if history:
        return ui.exam_history(mock.history(store), as_json=as_json)
    from studycli import dbfile, settings

    with dbfile.reader(store.path) as conn:   # just synced: read the settings plainly
        policy = settings.policy(conn)
    result = mock.run(store, all_cards, ui.ExamTerminal(), ctx.obj.today, questions=questions, minutes=minutes,
                      topic=topic, seed=seed, interrupt=sys.stdin.isatty(), policy=policy)
    ui.exam_result(result, mock.DOMAIN_NAMES)


@app.command(short_help="Write a starter file for a code card.")
def stub(
    ctx: typer.Context,
    card_id: Annotated[str, typer.Argument(help="A code card's id.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Where to write (default: ./CHECK.py, e.g. softmax.py).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starter file for a code card: signature, docstring and a worked example.

    Example: study stub sa-softmax-code -o softmax.py
    """
    from studycli import practice, session, ui

    _, all_cards = session.open_study(ctx.obj)
    card = practice.code_card(all_cards, card_id)
    path = practice.write_starter(card, output or Path(f"{card.check}.py"), force=force)
    ui.note(f"wrote {path}; when it is ready: study check {card.id} {path}")


@app.command(short_help="Grade your code for a code card.")
def check(
    ctx: typer.Context,
    card_id: Annotated[str, typer.Argument(help="A code card's id.")],
    file: Annotated[Path, typer.Argument(help="Your Python file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    no_record: Annotated[bool, typer.Option("--no-record", help="Do not store the submission or count it as a review.")] = False,
    unsafe: UnsafeOption = False,
) -> None:
    """Grade your code for a code card against the engine; exit 0 on pass, 1 otherwise.

    Example: study check sa-softmax-code softmax.py --json
    """
    from studycli import practice, ui

    _allow_unconfined(unsafe)
    verdict, quality = practice.check(ctx.obj, card_id, file, record=not no_record)
    ui.check_result(verdict, quality, as_json=as_json)
    if not verdict.passed:
        raise typer.Exit(1)


@app.command(short_help="See what temperature, top-k and top-p do.")
def sampler(
    prompt: Annotated[Optional[str], typer.Option(help="Text for the shipped model to continue (the default view).")] = None,
    logits: Annotated[Optional[str], typer.Option(help="Your own comma-separated logits instead, e.g. 2.0,1,-0.5.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="A made-up distribution after 'The cat sat on the' instead.")] = False,
    temperature: Annotated[Optional[float], typer.Option(help="Divide the logits by this (0 = greedy).")] = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", help="Keep the k most likely tokens (0 = off).")] = None,
    top_p: Annotated[Optional[float], typer.Option("--top-p", help="Keep the smallest set with this much mass (1 = off).")] = None,
    show: Annotated[int, typer.Option("--show", help="How many tokens to draw.")] = 10,
    samples: Annotated[bool, typer.Option(help="With the model: also write samples at several settings.")] = True,
    model: ModelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show what temperature, top-k and top-p do to a next-token distribution, and to samples.

    By default the shipped model continues a line of Romeo and Juliet: its real next-character
    distribution after each filter, then samples from greedy to gibberish with the share of real
    words in each. Example: study sampler --temperature 1.5 --top-p 0.8
    """
    from studycli import demo as models, sampler as sampling, ui

    asked = {k: v for k, v in (("temperature", temperature), ("top_k", top_k), ("top_p", top_p)) if v is not None}
    settings, chosen = sampling.settings_to_show(asked)
    if sum((logits is not None, demo, prompt is not None or model is not None)) > 1:
        raise UsageError("give one of --prompt/--model, --logits or --demo")
    if logits is not None:
        data = sampling.stages(sampling.parse_logits(logits), top_n=show, **settings)
    elif demo:
        data = sampling.demo(top_n=show, **settings)
    else:
        models.one_blas_thread()
        data = models.sampler_report(prompt if prompt is not None else models.SAMPLER_PROMPT, model, top_n=show,
                                     samples=models.SAMPLER_SETTINGS if samples else (), **settings)
    data["settings_chosen"] = chosen
    ui.sampler(data, as_json=as_json)


@app.command(short_help="Check the installation and the grading sandbox.")
def doctor(ctx: typer.Context) -> None:
    """Check the installation: database, decks, grading sandbox and numeric libraries.

    Example: study doctor
    """
    from studycli import doctor as checkup, ui

    ui.doctor(checkup.report(ctx.obj))


@app.command("export", short_help="Save all progress, or the deck for Anki.")
def export_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="Where to write (- for standard output).")],
    anki: Annotated[bool, typer.Option("--anki", help="Write the deck as an Anki package (.apkg) instead.")] = False,
    topic: Annotated[Optional[str], typer.Option(help="With --anki: only this topic.")] = None,
) -> None:
    """Save all progress (states, review log, code submissions, exams) to a JSON file, or the deck for Anki.

    Example: study export progress.json; study export --anki deck.apkg
    """
    from studycli import session, transfer, ui

    if topic is not None and not anki:
        from studycli.errors import UsageError

        raise UsageError("--topic goes with --anki; the progress file always holds everything")
    store, all_cards = session.open_study(ctx.obj, reading=not anki)
    if anki:
        return ui.note(f"wrote {transfer.export_anki(all_cards, file, topic=topic)} notes to {file}")
    ui.transferred("wrote", file, transfer.export_progress(store, file))


@app.command("import", short_help="Load progress saved by study export.")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="A file from study export (- for standard input).")],
    replace: Annotated[bool, typer.Option("--replace", help="Replace the progress this database holds.")] = False,
) -> None:
    """Load progress saved by study export, all of it or none of it.

    Example: study --db new.db import progress.json
    """
    from studycli import session, transfer, ui

    store, _ = session.open_study(ctx.obj)
    ui.transferred("imported", file, transfer.import_progress(store, file, replace=replace))


@app.command(short_help="Check decks for errors.")
def lint(
    ctx: typer.Context,
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Deck files or folders (default: every deck).")] = None,
) -> None:
    """Check decks for errors; print every one as FILE:LINE: message.

    Example: study lint content/self-attention.yaml
    """
    from studycli import content, ui

    context = ctx.obj.decks
    decks, problems = content.lint(paths or context, context)
    ui.lint_report(decks, problems)
    if problems:
        raise typer.Exit(2)




@app.command(short_help="Stream text from the small GPT.")
def generate(
    prompt: Annotated[str, typer.Argument(help="The text to continue.")] = "",
    temperature: Annotated[float, typer.Option(help="0 is greedy; below 1 sharper, above 1 flatter.")] = 0.8,
    top_k: Annotated[int, typer.Option(help="Keep only the k most likely tokens (0: off).")] = 0,
    top_p: Annotated[float, typer.Option(help="Keep the fewest tokens holding this much probability (1: off).")] = 1.0,
    seed: Annotated[Optional[int], typer.Option(help="Same seed, same text.")] = None,
    max_tokens: Annotated[int, typer.Option(help="How many tokens to write.")] = 300,
    model: ModelOption = None,
) -> None:
    """Stream text from a small GPT that engine/ trained on Shakespeare (or any GPT-2 checkpoint).

    Example: study generate "ROMEO:" --temperature 0.5 --seed 1
    """
    from studycli import demo

    demo.one_blas_thread()
    gpt, tokenizer = demo.load(model)
    pieces = demo.stream(gpt, tokenizer, prompt, max_tokens, temperature, top_k, top_p, seed)
    typer.echo(prompt, nl=False)
    try:
        for piece in pieces:
            typer.echo(piece, nl=False)
    except KeyboardInterrupt:   # the text so far stays; the line ends cleanly
        typer.echo()
        raise typer.Exit(130) from None
    typer.echo()


@app.command(short_help="Fine-tune the small GPT three ways, compared.")
def finetune(
    steps: Annotated[int, typer.Option(help="Training steps per mode.")] = 300,
    mode: Annotated[Optional[list[str]], typer.Option(help="head, last_block or full (repeatable; default: all three).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for batches and samples.")] = 0,
    model: ModelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fine-tune the shipped model on the study notes three ways; compare held-out loss and samples.

    Example: study finetune --steps 200 --mode head --mode full
    """
    import json

    from studycli import demo, ui

    modes = demo.finetune_modes(mode)
    try:
        with ui.training_progress(total=steps * len(modes), label="fine-tuning") as progress:
            def on_eval(mode_name, step, train_loss, val_loss):
                progress(modes.index(mode_name) * steps + step,
                         f"{mode_name} step {step}: train {train_loss:.3f}, held-out {val_loss:.3f}")

            report = demo.finetune_report(model, steps=steps, seed=seed, modes=mode, on_eval=on_eval)
    except KeyboardInterrupt:
        ui.note("stopped: nothing was saved (fine-tuning here is a comparison, never written to disk)")
        raise typer.Exit(130) from None
    typer.echo(json.dumps(report, indent=2) if as_json else ui.render_finetune(report))


@app.command(short_help="Train a character-level GPT on Shakespeare.")
def train(
    minutes: Annotated[Optional[float], typer.Option(help="Stop after this much wall-clock time.")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Stop after this many steps (give this, --minutes, or both).")] = None,
    out: Annotated[Path, typer.Option(metavar="DIR", help="Checkpoint directory to write.")] = Path("out/shakespeare-char"),
    dtype: Annotated[str, typer.Option(help="Dtype of the saved weights: float32, or float16 for half the file.")] = "float32",
    n_embd: Annotated[Optional[int], typer.Option("--n-embd", help="Model width (default 128).")] = None,
    n_layer: Annotated[Optional[int], typer.Option("--n-layer", help="Transformer blocks (default 4).")] = None,
    n_head: Annotated[Optional[int], typer.Option("--n-head", help="Attention heads (default 4).")] = None,
    context: Annotated[Optional[int], typer.Option(help="Characters the model reads at once (default 64).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Windows per step (default 12).")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate (default 2e-3).")] = None,
    min_lr: Annotated[Optional[float], typer.Option("--min-lr", help="Learning rate at the end of the cosine (default 2e-4).")] = None,
    warmup_steps: Annotated[Optional[int], typer.Option("--warmup-steps", help="Steps of linear warm-up (default 100).")] = None,
    weight_decay: Annotated[Optional[float], typer.Option("--weight-decay", help="AdamW decay on 2-D weights (default 0.1).")] = None,
    beta1: Annotated[Optional[float], typer.Option(help="Adam's first-moment decay (default 0.9).")] = None,
    beta2: Annotated[Optional[float], typer.Option(help="Adam's second-moment decay (default 0.99).")] = None,
    grad_clip: Annotated[Optional[float], typer.Option("--grad-clip", help="Largest global gradient norm (default 1.0).")] = None,
    eval_every: Annotated[Optional[int], typer.Option("--eval-every", help="Steps between held-out evaluations (default 250).")] = None,
    eval_windows: Annotated[Optional[int], typer.Option("--eval-windows", help="Held-out windows per evaluation (default 128).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed for initialisation and batches (default 0).")] = None,
) -> None:
    """Train a character-level GPT on Shakespeare with engine/ (needs: pip install 'studycli[train]').

    Example: study train --minutes 5 --out my-model
    """
    from engine import train as training

    given = {"minutes": minutes, "steps": steps, "n-embd": n_embd, "n-layer": n_layer, "n-head": n_head,
             "context": context, "batch-size": batch_size, "lr": lr, "min-lr": min_lr, "warmup-steps": warmup_steps,
             "weight-decay": weight_decay, "beta1": beta1, "beta2": beta2, "grad-clip": grad_clip,
             "eval-every": eval_every, "eval-windows": eval_windows, "seed": seed}
    if minutes is None and steps is None:
        raise UsageError("give --minutes, --steps or both, e.g. study train --minutes 5")
    argv = ["--out", str(out), "--dtype", dtype] + [a for k, v in given.items() if v is not None for a in (f"--{k}", str(v))]
    raise typer.Exit(training.main(argv))


def main(args: list[str] | None = None) -> None:
    """Entry point of `study` and `python -m studycli`: our errors become one line and an exit code."""
    try:
        app(args=args)
    except StudyError as exc:
        from studycli import ui

        ui.error(str(exc))
        raise SystemExit(exc.exit_code) from None
