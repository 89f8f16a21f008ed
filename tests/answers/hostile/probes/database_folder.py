"""Reads, deletes and overwrites files beside the progress database, and adds a table to it."""
import os
import sqlite3

DB = "{{ROOT}}/data/study.db"
report = []


def add_table():
    conn = sqlite3.connect(DB)
    conn.execute("CREATE TABLE planted (x)")
    conn.commit()


for what, action in [
    ("read database", lambda: open(DB, "rb").read()),
    ("delete sibling", lambda: os.remove("{{ROOT}}/data/study.db-wal")),
    ("overwrite sibling", lambda: open("{{ROOT}}/data/settings.json", "w").write("{}")),
    ("new file", lambda: open("{{ROOT}}/data/planted.txt", "w").write("x")),
    ("create table", add_table),
]:
    try:
        action()
        report.append(f"ESCAPED {what}")
    except (OSError, sqlite3.Error) as e:
        report.append(f"blocked {what}: {e}")


def softmax(x, axis=-1):
    raise ValueError("PROBE " + "; ".join(report))
