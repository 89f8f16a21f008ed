"""The wheel carries the built-in deck, and an installed copy finds it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True)
    return next(out.glob("studycli-*.whl"))


def test_wheel_holds_the_deck_and_both_packages(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    decks = {Path(n).name for n in names if n.startswith("studycli/decks/")}
    assert decks == {p.name for p in (ROOT / "content").glob("*.yaml")}
    assert "studycli/cli.py" in names and "engine/model.py" in names
    assert not any(n.startswith("tests/") for n in names)


@pytest.mark.slow
def test_installed_wheel_finds_its_deck(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([venv / "bin" / "pip", "install", "-q", str(wheel)], check=True, capture_output=True)
    result = subprocess.run([venv / "bin" / "study", "lint"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert subprocess.run(
        [venv / "bin" / "python", "-c", "from studycli import paths; print(paths.content_dir())"],
        capture_output=True, text=True, cwd=tmp_path).stdout.strip().endswith("site-packages/studycli/decks")
