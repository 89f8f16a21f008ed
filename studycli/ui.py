"""Everything that writes to the terminal: messages to stderr, data to stdout."""

from __future__ import annotations

import json
import os
import re
import sys

from rich.console import Console
from rich.markup import escape
from rich.text import Text
from rich.panel import Panel

# Piped output is not cut to 80 columns: a script gets whole topic names and questions.
out = Console(highlight=False, no_color="NO_COLOR" in os.environ or None,
              width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200)
err = Console(stderr=True, highlight=False, no_color="NO_COLOR" in os.environ or None)


def error(message: str) -> None:
    """One clear line on stderr (the message is text: brackets in it are not markup)."""
    err.print(f"[bold red]error:[/] {escape(clean(message))}", markup=True, soft_wrap=True)


def note(message: str) -> None:
    err.print(escape(clean(message)), soft_wrap=True)


def emit_json(data) -> None:
    """Data for scripts: plain JSON on stdout, no colour, no wrapping."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def lint_report(decks, problems: list[str]) -> None:
    for problem in problems:
        out.print(problem, markup=False, soft_wrap=True)
    cards = sum(len(d.cards) for d in decks)
    if problems:
        note(f"{len(problems)} problem(s) in {len(decks)} deck(s)")
    else:
        note(f"ok: {len(decks)} deck(s), {cards} card(s)")


# ---------------------------------------------------------------- review sessions


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Deck or answer text without control characters: an escape sequence in a card must not reach
    the terminal (clipboard writes, links, title changes)."""
    return CONTROL.sub("", text)


def _markdown(text: str):
    return _dotted_markdown()(clean(text))


def _dotted_markdown():
    """rich's Markdown, with numbered lists that keep their dot ("1. first", not "1 first").

    Built on first use: the Markdown parser loads only when a card is shown.
    """
    global _DottedMarkdown
    if _DottedMarkdown is None:
        from rich.markdown import ListItem, Markdown
        from rich.segment import Segment

        class DottedListItem(ListItem):
            def render_number(self, console, options, number, last_number):
                width = len(str(last_number)) + 3
                lines = console.render_lines(self.elements, options.update(width=options.max_width - width),
                                             style=self.style)
                style = console.get_style("markdown.item.number", default="none")
                for i, line in enumerate(lines):
                    yield Segment(f"{number}.".rjust(width - 1) + " " if i == 0 else " " * width, style)
                    yield from line
                    yield Segment("\n")

        class DottedMarkdown(Markdown):
            elements = {**Markdown.elements, "list_item_open": DottedListItem}

        _DottedMarkdown = DottedMarkdown
    return _DottedMarkdown


_DottedMarkdown = None


def markdown(text: str) -> None:
    out.print(_markdown(text))


def _labelled(labels: list[str], texts: list[str]) -> None:
    """Labelled lines whose long texts wrap under themselves, not under the label."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", style="bold", min_width=4)
    grid.add_column()
    for label, text in zip(labels, texts):
        grid.add_row(label, Text(clean(text)))
    out.print(grid)


def grade_legend(meanings: dict[int, str]) -> str:
    """SM-2's grades in two short lines that never break inside a meaning:
    '0-2 wrong: 0 blackout · 1 familiar once seen ...' and '3-5 right: 3 hard · ...'."""
    groups: dict[str, list[str]] = {}
    for grade, meaning in meanings.items():
        head, _, rest = meaning.partition(", ")
        groups.setdefault(head if rest else "", []).append(f"{grade} {rest or meaning}")
    lines = []
    for head, items in groups.items():
        grades = [item.split()[0] for item in items]
        label = f"{grades[0]}-{grades[-1]} {head}: " if head else ""
        lines.append(label + " · ".join(items))
    return "\n".join(lines)


class Terminal:
    """The review session's screen and keyboard (or piped stdin)."""

    def card(self, text: str, number: int, total: int, *, topic: str, kind: str, repeat: bool = False,
             first: bool = False) -> None:
        again = " · again" if repeat else ""
        out.print()
        out.rule(f"card {number} of {total} · {topic} · {kind}{again}", style="cyan")
        if first:
            out.print("[dim]q quits at any prompt; every answer is saved as you go[/]")
        if text:
            markdown(text)

    def ask(self, prompt: str) -> str | None:
        """One line of input; None at end of input."""
        try:
            return out.input(f"[bold]{prompt}>[/] ")
        except EOFError:
            return None

    def hint(self, message: str) -> None:
        out.print(f"[yellow]{escape(message)}[/]")

    def markdown(self, text: str) -> None:
        markdown(text)

    def reveal(self, answer: str, explanation: str, meanings: dict[int, str]) -> None:
        out.print(Panel(_markdown(answer), title="answer", border_style="green"))
        if explanation:
            markdown(explanation)
        out.print(grade_legend(meanings), style="dim", soft_wrap=True)

    def choices(self, shown: list[str], choose: int) -> None:
        if choose > 1:
            words = {2: "TWO", 3: "THREE", 4: "FOUR", 5: "FIVE"}
            out.print(f"[bold](Choose {words.get(choose, choose)}.)[/]")
        _labelled([f"{letter})" for letter in "abcdefgh"], shown)

    def numbered(self, items: list[str]) -> None:
        _labelled([f"{n}." for n in range(1, len(items) + 1)], items)

    def matching(self, lefts: list[str], rights: list[str]) -> None:
        from rich.table import Table

        table = Table(show_header=False, box=None, padding=(0, 2))
        for i in range(max(len(lefts), len(rights))):
            left = f"[bold]{i + 1}.[/] {escape(lefts[i])}" if i < len(lefts) else ""
            right = f"[bold]{'abcdefgh'[i]})[/] {escape(rights[i])}" if i < len(rights) else ""
            table.add_row(left, right)
        out.print(table)

    def verdict(self, correct: bool, right: list[str], explanation: str) -> None:
        if correct:
            out.print("[bold green]correct[/]")
        else:
            out.print("[bold red]not quite[/] — the answer:")
            for line in right:
                out.print(f"  {escape(line)}", soft_wrap=True)
        if explanation:
            markdown(explanation)

    def code_file(self, path, editor: bool, previous=None) -> None:
        code_file_note(path, editor)
        if previous is not None:
            out.print(f"[dim]a fresh start: your previous answer is in {escape(str(previous))} "
                      f"(r restores it; diff {escape(str(previous))} {escape(str(path))} compares)[/]")

    def code_prompt(self, hints_left: int, can_restore: bool = False) -> str:
        return ask_code_choice(self.ask, hints_left, can_restore)

    def code_verdict(self, verdict) -> None:
        code_verdict(verdict)

    def summary(self, summary) -> None:
        minutes, seconds = divmod(int(summary.seconds), 60)
        out.print()
        if summary.answered == 0 and summary.repeats == 0:
            out.print("Nothing answered this time." if summary.interrupted else "Nothing due. Come back tomorrow.")
            return
        rate = summary.correct / summary.answered if summary.answered else 0.0
        out.rule("session summary", style="cyan")
        out.print(f"answered {summary.answered} card(s), {summary.correct} right ({rate:.0%}); "
                  f"{summary.repeats} same-day repeat(s); {minutes}m {seconds:02d}s")
        if summary.interrupted:
            out.print(f"stopped early: every answer is saved; {summary.remaining} card(s) left for later")


# ---------------------------------------------------------------- other commands


def dashboard(overview: dict, queued: int) -> None:
    out.print(f"[bold]studycli[/] · {overview['today']}")
    out.print(f"  due today       {overview['due_today']}")
    out.print(f"  new today       {overview['new_left_today']} left of {overview['new_per_day']} a day "
              f"({overview['new']} not yet studied)")
    out.print(f"  reviewed today  {overview['reviews_today']}")
    out.print(f"  cards in decks  {overview['cards']}")
    if overview.get("readiness"):
        ready = overview["readiness"]
        sure = "" if ready["confident"] else " (few reviews yet: a wide range)"
        out.print(f"  readiness       {ready['expected']} expected, {ready['low']}-{ready['high']}{sure}")
    if overview.get("offer_fsrs_fit"):
        out.print(f"\nWith {overview['reviews_total']} reviews, FSRS can be fitted to your memory: "
                  "[bold]study fit-fsrs[/] (needs pip install 'fsrs[optimizer]').")
    if queued:
        out.print(f"\n{queued} card(s) waiting: run [bold]study review[/]")
    elif overview["new"] and not overview["new_left_today"]:
        more = overview["new_per_day"] + 10
        out.print(f"\nNothing waiting: today's {overview['new_per_day']} new cards are done. "
                  f"[bold]study review --new {more}[/] takes 10 more today; "
                  f"[bold]study config new-per-day {more}[/] changes the daily limit.")
    else:
        out.print("\nNothing waiting today. [bold]study stats[/] shows your progress.")


def study_plan(plan: dict) -> None:
    """The pace, then one line per day (weeks folded after the first two) up to the exam."""
    days = plan["days"]
    out.print(f"[bold]exam on {plan['exam_date']}[/] · {plan['new_left']} card(s) not yet studied")
    if plan["fits"]:
        out.print(f"introduce {plan['new_per_day']} new card(s) a day to have every card studied a week "
                  f"before the exam (your limit: {plan['budget']} a day)")
    else:
        out.print(f"[yellow]{plan['needed_per_day']} new cards a day would be needed; your limit is "
                  f"{plan['budget']}: study config new-per-day {plan['needed_per_day']} to keep up, "
                  "or some cards will be new on exam day[/]")
    from rich.table import Table

    table = Table("day", "new", "due", "minutes", box=None, header_style="bold")
    for d in days:
        table.add_row(d["day"], str(d["new"]), str(d["due"]), f"{d['minutes']:.0f}")
    out.print(table)
    total = sum(d["minutes"] for d in days)
    out.print(f"[dim]about {total / 60:.1f} hours in all; minutes from your own answering times once "
              "there are enough, else 40 s a new card and 15 s a review[/]")


class training_progress:
    """A progress bar with the time left on stderr (or one line per evaluation when stderr is not
    a terminal); used as `with training_progress(total, label) as update: update(done, text)`."""

    def __init__(self, total: int, label: str):
        self.total, self.label = total, label
        self.bar = None

    def __enter__(self):
        if err.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("·"), TimeRemainingColumn(), TextColumn("left"), console=err,
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total)
        return self.update

    def update(self, done: int, text: str) -> None:
        if self.bar is None:
            err.print(text, soft_wrap=True)
            return
        self.bar.update(self.task, completed=done, description=f"{self.label}: {text}")

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def settings_list(values: dict[str, str], meanings: dict[str, str]) -> None:
    from rich.table import Table

    table = Table("setting", "value", "meaning", box=None, header_style="bold")
    for key, value in values.items():
        table.add_row(key, value or "[dim](not set)[/]", meanings[key])
    out.print(table)


def card_list(rows: list[dict], as_json: bool) -> None:
    if as_json:
        return emit_json(rows)
    if not rows:
        note("No cards match.")
        return
    from rich.table import Table

    table = Table("id", "topic", "type", "due", "ivl", "EF", "card", box=None, header_style="bold")
    for row in rows:
        state = row["state"]
        table.add_row(row["id"], row["topic"], row["type"], state["due"] or "new", str(state["interval"]),
                      f"{state['ef']:.2f}", Text(clean(row["headline"])))
    out.print(table)
    note(f"{len(rows)} card(s)")


def card_details(details: dict, as_json: bool) -> None:
    if as_json:
        return emit_json(details)
    card, state, shown = details["card"], details["state"], details["shown"]
    out.rule(f"{card['id']} · {card['topic']} · {card['type']}", style="cyan")
    markdown(shown["question"])
    if shown["options"]:
        _labelled([""] * len(shown["options"]), shown["options"])
    out.print(Panel(_markdown("\n\n".join(shown["answer"])), title="answer", border_style="green"))
    if card.get("explanation"):
        markdown(card["explanation"])
    if card.get("source"):
        out.print(Text.assemble(("source: ", "bold"), card["source"]), soft_wrap=True)
    due = state["due"] or "not yet studied"
    out.print(f"[bold]schedule[/]: due {due} · interval {state['interval']} d · EF {state['ef']:.2f} · "
              f"repetitions {state['repetitions']} · lapses {state['lapses']}")
    if details["history"]:
        out.print("[bold]history[/]:")
        for entry in details["history"]:
            out.print(f"  {entry['day']}  q={entry['quality']}  {entry['mode']:<7} -> interval {entry['interval_after']} d")
    if details["related"]:
        out.print("[bold]related[/]:")
        for rel in details["related"]:
            out.print(f"  {rel['id']} ({rel['kind']}): {escape(rel['text'])}", soft_wrap=True)


def undone(review) -> None:
    if review is None:
        note("Nothing to undo.")
        return
    schedule = f"due {review.due_before}" if review.due_before else "new (never reviewed)"
    note(f"Undid your answer to {review.card_id} (quality {review.quality}, {review.study_day}); "
         f"the card is back to {schedule}.")


def stats(report: dict, as_json: bool, domain_names: dict[int, str] | None = None) -> None:
    """`study stats`: the per-topic table, streak, heatmap, forecast and weakest cards."""
    if as_json:
        return emit_json(report)
    from rich.table import Table

    def percent(share) -> str:
        return "-" if share is None else f"{share:.0%}"

    def ef(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    table = Table("topic", "cards", "new", "learning", "mature", "due", "retention 30d", "avg EF", "code passed",
                  box=None, header_style="bold")
    rows = list(report["topics"].items()) + [("[bold]total[/]", report["totals"])]
    for topic, t in rows:
        code = f"{t['code_passed']}/{t['code_cards']}" if t["code_cards"] else "-"
        table.add_row(topic, str(t["cards"]), str(t["new"]), str(t["learning"]), str(t["mature"]), str(t["due_today"]),
                      f"{percent(t['retention'])} of {t['reviews_30d']}" if t["reviews_30d"] else "-",
                      ef(t["average_ef"]), code)
    out.print(table)
    streak = report["streak"]
    today_note = "" if streak["studied_today"] or not streak["current"] else " (study today to keep it)"
    out.print(f"\nstreak [bold]{streak['current']}[/] day(s){today_note} · longest {streak['longest']} · "
              f"reviews today {report['reviews_today']} · all time {report['reviews_total']}")
    out.print("\n[bold]reviews per day[/], last 12 weeks")
    _heatmap(report["heatmap"])
    out.print("\n[bold]due per day[/], next 30 days (overdue counted today)")
    _bars(report["forecast"])
    if report.get("readiness"):
        readiness(report["readiness"], names=domain_names)
    if report["weakest"]:
        weak = Table("card", "topic", "EF", "lapses", "interval", "due", "question", box=None, header_style="bold")
        for card in report["weakest"]:
            weak.add_row(card["id"], card["topic"], f"{card['ef']:.2f}", str(card["lapses"]), f"{card['interval']} d",
                         card["due"], card["text"])
        out.print("\n[bold]weakest cards[/] (lowest EF, most lapses)")
        out.print(weak)


def readiness(ready: dict, names: dict[int, str] | None = None) -> None:
    """The predicted exam score today (and on the exam day): expected, range, per domain, and what it rests on."""
    from rich.table import Table

    out.print(f"\n[bold]readiness[/]: expected [bold]{ready['expected']}[/] today, "
              f"90% range {ready['low']}-{ready['high']} (pass 700)")
    day = ready.get("exam_day")
    if day:
        out.print(f"on the exam day, if you keep the plan: [bold]{day['expected']}[/] ({day['low']}-{day['high']})")
    table = Table("domain", "today", "range", *(("exam day",) if day else ()), "cards", box=None, header_style="bold")
    for d, numbers in sorted(ready["by_domain"].items(), key=lambda kv: int(kv[0])):
        name = f"{d}: {names[int(d)]}" if names else str(d)
        extra = (str(day["by_domain"][d]["expected"]),) if day else ()
        table.add_row(name, str(numbers["expected"]), f"{numbers['low']}-{numbers['high']}", *extra, str(numbers["cards"]))
    out.print(table)
    out.print(Text(ready["note"], style="dim"))


HEAT = " ░▒▓█"   # no reviews, then four steps up to the busiest day


def _heatmap(days: list[dict]) -> None:
    """Weeks as columns (Monday on top), one character a day, darker for more reviews."""
    from datetime import date

    first = date.fromisoformat(days[0]["day"])
    busiest = max(d["reviews"] for d in days) or 1
    columns = (first.weekday() + len(days) + 6) // 7
    grid = [[" "] * columns for _ in range(7)]
    for i, d in enumerate(days):
        slot = first.weekday() + i
        level = 0 if d["reviews"] == 0 else 1 + min(3, (d["reviews"] * 4 - 1) // busiest)
        grid[slot % 7][slot // 7] = HEAT[level] if level else "·"
    for name, row in zip(("Mon", "", "Wed", "", "Fri", "", "Sun"), grid):
        out.print(f"  {name:<3} [green]{' '.join(row)}[/]")
    out.print(f"      [dim]{days[0]['day']} to {days[-1]['day']} · \"·\" none, then {' '.join(HEAT[1:])} up to {busiest} a day[/]")


def _bars(days: list[dict], height: int = 6) -> None:
    """A vertical bar per day, two columns wide, eighth blocks for the tops."""
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(d["due"] for d in days)
    if top == 0:
        out.print("  nothing due in the next 30 days")
        return
    for row in range(height, 0, -1):
        cells = []
        for d in days:
            eighths = max(1 if d["due"] else 0, round(d["due"] * height * 8 / top)) - (row - 1) * 8
            cells.append(blocks[max(0, min(8, eighths))] * 2)
        label = str(top) if row == height else ""
        out.print(f"  {label:>5} [cyan]{''.join(cells)}[/]")
    ticks = "".join(f"{d['day'][5:]:<14}" for d in days[::7])
    out.print(f"        [dim]{ticks}[/]")


# ---------------------------------------------------------------- code cards

CODE_CHOICES = {"": "grade", "g": "grade", "h": "hint", "s": "skip", "q": "quit", "r": "restore"}


def code_file_note(path, editor: bool) -> None:
    if editor:
        out.print(f"Your answer file: [bold]{escape(str(path))}[/] (opening your editor; save and close it to continue)")
    else:
        out.print(f"Write your answer in [bold]{escape(str(path))}[/] in any editor, save it, then come back here.")


def ask_code_choice(ask, hints_left: int, can_restore: bool = False) -> str:
    """'grade', 'hint', 'skip', 'restore' or 'quit' from one keypress-and-Enter; re-asks on anything else."""
    hint = f", h hint ({hints_left} left)" if hints_left else ""
    restore = ", r restore previous" if can_restore else ""
    while True:
        text = ask(f"Enter grade{hint}{restore}, s skip, q quit")
        if text is None:
            return "quit"
        choice = CODE_CHOICES.get(text.strip().lower())
        if choice and (choice != "restore" or can_restore):
            return choice
        out.print("[yellow]type Enter to grade your file, h for a hint, s to skip or q to stop[/]")


def code_verdict(verdict) -> None:
    """The grader's verdict in a panel; `verdict.feedback()` is its text, styled."""
    style = "green" if verdict.passed else "red"
    out.print(Panel(verdict.feedback(), title=f"check {verdict.check}: {verdict.status}", border_style=style))


def check_result(verdict, quality: int | None, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(verdict.to_json() + "\n")
        sys.stdout.flush()
        return
    code_verdict(verdict)
    if quality is not None:
        note(f"counted as today's review of this card (grade {quality})")


def doctor(rows: list[tuple[str, bool, str]]) -> None:
    from rich.table import Table

    table = Table("check", "", "details", box=None, header_style="bold")
    for name, ok, details in rows:
        table.add_row(name, "[green]ok[/]" if ok else "[red]problem[/]", details)
    out.print(table)


# ---------------------------------------------------------------- mock exams


class ExamTerminal(Terminal):
    """The mock exam's screen: a question with the time left, the review list, help."""

    def exam_intro(self, paper) -> None:
        form = paper.form
        out.print()
        out.rule(f"{form.name} mock exam", style="cyan")
        short = len(paper.questions) < paper.asked_for
        out.print(f"{len(paper.questions)} questions · {paper.minutes:g} minutes · scaled score "
                  f"{form.min_score}-{form.max_score}, pass mark {form.pass_score}")
        if short:
            where = f"topic {paper.topic}" if paper.topic else "the decks"
            out.print(f"[yellow]{paper.asked_for} questions were asked for, but {where} holds only "
                      f"{len(paper.questions)} exam-style cards, so the exam uses them all[/]")
        for domain, (seats, held) in sorted(paper.short.items()):
            out.print(f"[yellow]domain {domain} has {held} exam-style card(s) for its {seats} seat(s); "
                      "other domains fill the rest, so this paper is not in the exam's proportions[/]")
        out.print("Answers can be changed until you submit. Type [bold]?[/] for the commands.")

    def question(self, question, total: int, clock: str, sheet) -> None:
        """One question as the real exam shows it: no topic or domain, only the time left."""
        flag = " · [yellow]flagged[/]" if question.position in sheet.flagged else ""
        out.print()
        out.rule(f"question {question.position} of {total} · {clock} left{flag}", style="cyan")
        if question.text:
            markdown(question.text)
        question.posed.show(self)
        typed = sheet.typed.get(question.position)
        if typed is not None:
            out.print(f"your answer: [bold]{escape(typed)}[/] (type another to change it)")

    def sheet(self, questions, sheet) -> None:
        from rich.table import Table

        table = Table("#", "answer", "", "question", box=None, header_style="bold")
        for q in questions:
            typed = sheet.typed.get(q.position)
            table.add_row(str(q.position), typed if typed is not None else "[red]-[/]",
                          "[yellow]flagged[/]" if q.position in sheet.flagged else "", Text(clean(q.headline)))
        out.print()
        out.rule("review", style="cyan")
        out.print(table)
        unanswered = len(questions) - len(sheet.typed)
        out.print(f"{len(sheet.typed)} answered, {unanswered} unanswered, {len(sheet.flagged)} flagged · "
                  "g N to go to a question, s to submit")

    def exam_help(self, commands) -> None:
        for keys, meaning in commands:
            out.print(f"  [bold]{keys:<12}[/] {meaning}")


def exam_result(result, domain_names: dict[int, str]) -> None:
    """Score, pass or fail, per-topic and per-domain breakdowns, and every missed question."""
    from rich.table import Table

    form = result.paper.form
    verdict = "[bold green]PASS[/]" if result.passed else "[bold red]FAIL[/]"
    ended = {"time": "time ran out", "end of input": "input ended", "submitted": "submitted",
             "interrupted": "interrupted"}[result.ended_by]
    minutes, seconds = divmod(int(result.seconds_used), 60)
    out.print()
    out.rule("result", style="cyan")
    out.print(f"score [bold]{result.scaled_score}[/] of {form.max_score} · {verdict} (pass mark {form.pass_score})")
    out.print(f"{result.correct} of {result.total} right, {result.answered} answered · {ended} after "
              f"{minutes}m {seconds:02d}s")
    out.print(f"[dim]scaled linearly: {form.min_score} + {form.max_score - form.min_score} × right / questions; "
              "an unanswered question counts as wrong[/]")
    for title, key, name in (("topic", lambda q: q.card.topic, str),
                             ("domain", lambda q: q.card.domain, lambda d: f"{d}: {domain_names[d]}" if d else "none")):
        table = Table(title, "right", "questions", "", box=None, header_style="bold")
        for group, counts in result.breakdown(key).items():
            share = counts["correct"] / counts["questions"]
            table.add_row(name(group), str(counts["correct"]), str(counts["questions"]), f"{share:.0%}")
        out.print(table)
    missed = [g for g in result.graded if not g.correct]
    wrong = sum(g.typed is not None for g in missed)
    if missed:
        out.rule(f"missed: {wrong} wrong (due again today), {len(missed) - wrong} unanswered", style="red")
    for g in missed:
        q = g.question
        status = "wrong" if g.typed is not None else "unanswered"
        out.print(f"\n[bold]{q.position}.[/] {q.card.id} · {q.card.topic} · {status}")
        if q.text:
            markdown(q.text)
        q.posed.show(ExamTerminal())
        out.print(f"your answer: {escape(g.typed) if g.typed is not None else '(none)'}")
        out.print("right answer:")
        for line in q.posed.right:
            out.print(f"  {escape(line)}", soft_wrap=True)
        if q.card.explanation:
            markdown(q.card.explanation)


def exam_history(rows: list[dict], as_json: bool) -> None:
    if as_json:
        return emit_json(rows)
    if not rows:
        note("No exams yet: study exam starts one.")
        return
    from rich.table import Table

    table = Table("#", "day", "score", "", "right", "answered", "minutes", "topic", "ended", box=None,
                  header_style="bold")
    table.columns[1].no_wrap = True
    for r in rows:
        used = f"{r['seconds_used'] / 60:.0f}/{r['minutes']:.0f}"
        table.add_row(str(r["id"]), r["day"], str(r["scaled_score"]), "[green]pass[/]" if r["passed"] else "[red]fail[/]",
                      f"{r['correct']}/{r['questions']}", str(r["answered"]), used, r["topic"] or "all", r["ended_by"])
    out.print(table)


def transferred(verb: str, file: str, counts: dict) -> None:
    """One line on stderr: what an export or import moved."""
    what = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())
    where = file if file != "-" else "standard output" if verb == "wrote" else "standard input"
    note(f"{verb} {what} ({where})")


def sampler(data: dict, as_json: bool) -> None:
    if as_json:
        return emit_json(data)
    from rich.table import Table

    sampler_bars(data, out)
    if data.get("samples"):
        table = Table("temp", "top-k", "top-p", "real words", "sample", box=None, header_style="bold")
        for s in data["samples"]:
            settings = ("greedy", "-", "-") if s["temperature"] == 0 else (
                f"{s['temperature']:g}", str(s["top_k"] or "off"), f"{s['top_p']:g}" if s["top_p"] < 1 else "off")
            table.add_row(*settings, f"{s['real_words']:.0%}", Text(s["text"].replace("\n", " / ")))
        out.print("\nSamples from the same prompt (share of words found in the training text):")
        out.print(table)


# ---------------------------------------------------------------- the engine's demos

BAR_EIGHTHS = " ▏▎▍▌▋▊▉█"
SPARK = "▁▂▃▄▅▆▇█"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar `width` characters wide, filled to `fraction` in eighths of a character."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (BAR_EIGHTHS[part] if part else "")).ljust(width)


def sampler_bars(data: dict, console) -> None:
    """Draws `stages()` data on a rich console: one column of bars per stage, a footer of survivors and mass."""
    from rich.table import Table
    from rich.text import Text

    label_width = max(9, *(len(repr(t["label"])) - 2 for t in data["tokens"]))
    # token, logit (6) and four stages of bar + " 0.123", one space between columns, one spare
    bar_width = max(4, min(20, (console.width - label_width - 6 - 10 - 4 * 6 - 1) // 4))
    title = "Next-token probabilities"
    if data.get("context"):
        title += f" after {data['context']!r}"
    table = Table(title=title, show_footer=True, box=None, padding=(0, 1), pad_edge=False, title_justify="left")
    footer = Text.assemble(("survive\n", "bold"), ("mass kept", "bold"))
    table.add_column("token", footer=footer, no_wrap=True, min_width=label_width)
    table.add_column("logit", justify="right", no_wrap=True, min_width=6)
    for stage in data["stages"]:
        counts = f"{stage['survivors']} of {data['vocab_size']}\n{stage['mass_kept']:.2f}"
        table.add_column(stage["title"], footer=counts, no_wrap=True, min_width=bar_width + 6)
    for token in data["tokens"]:
        cells = [Text(repr(token["label"])[1:-1] or " ", style="bold"), f"{token['logit']:.2f}"]
        for p in token["probs"]:
            if p == 0:
                cells.append(Text("filtered".rjust(bar_width + 6), style="dim"))
            else:
                cells.append(Text.assemble((bar(p, bar_width), "cyan"), f" {p:5.3f}"))
        table.add_row(*cells)
    if any(stage["other"] > 5e-4 for stage in data["stages"]):
        others = [Text(f"{'':{bar_width}} {stage['other']:5.3f}", style="dim") for stage in data["stages"]]
        table.add_row(Text("(others)", style="dim"), "", *others)
    console.print(table)
    settings = f"temperature {data['temperature']:g} · top_k {data['top_k']} · top_p {data['top_p']:g}"
    console.print(Text(f"{settings}: the bars of each column sum to 1 over all {data['vocab_size']} tokens.", style="dim"))
    if data.get("settings_chosen"):
        console.print(Text("No settings given, so these show every filter at work; try --temperature, --top-k "
                           "and --top-p with your own values.", style="dim"))


def sparkline(values, low, high) -> str:
    """One block character per value, its height between `low` and `high`."""
    span = max(high - low, 1e-9)
    return "".join(SPARK[min(len(SPARK) - 1, int((v - low) / span * len(SPARK)))] for v in values)


def render_finetune(report) -> str:
    """The report as text: held-out loss per mode at every evaluation, a sparkline, the best point and samples."""
    modes = report["modes"]
    steps = [point[0] for point in next(iter(modes.values()))["curve"]]
    vals = [point[2] for m in modes.values() for point in m["curve"]]
    lines = [f"Fine-tuning on the study notes ({report['train_chars']:,} characters; "
             f"{report['val_chars']:,} held out), {report['steps']} steps at lr {report['lr']:g}.",
             "Held-out loss (nats per character; lower is better):", ""]
    lines.append(f"{'step':>6}  " + "  ".join(f"{m['label']:>17}" for m in modes.values()))
    for i, step in enumerate(steps):
        lines.append(f"{step:>6}  " + "  ".join(f"{m['curve'][i][2]:>17.3f}" for m in modes.values()))
    lines.append("")
    for m in modes.values():
        curve = [point[2] for point in m["curve"]]
        last = curve[-1]
        note = "  (overfitting: held-out loss rising)" if last > m["best"][1] + 0.02 else ""
        lines.append(f"{m['label']:>17}  {sparkline(curve, min(vals), max(vals))}  best {m['best'][1]:.3f} "
                     f"at step {m['best'][0]}, last {last:.3f}, train {m['curve'][-1][1]:.3f}{note}")
    lines += ["", "Samples (temperature 0.8):", "", "before fine-tuning:", indent(report["before"])]
    for m in modes.values():
        lines += [f"{m['label']}:", indent(m["sample"])]
    return "\n".join(lines)


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines()) + "\n"
