"""`manage.py startgame`: run in a copy of the project, the scaffold's test runs and names what to write."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", "*.sqlite3*", "bench",
    "test-artifacts", "staticfiles", "node_modules",
)  # fmt: skip

#: A finished game for the scaffold: a one-second countdown that ends in a draw.
WRITTEN = """
from dataclasses import dataclass

from engine.game import Game, Outcome


@dataclass(slots=True)
class TicTacToeState:
    names: list
    left: int = 20


class TicTacToe(Game[TicTacToeState]):
    name = "tic_tac_toe"
    title = "Tic-tac-toe"

    def options(self, raw):
        return {}

    def setup(self, players, options, seed):
        return TicTacToeState(names=[p.name for p in players])

    def apply(self, state, seat, data):
        return None

    def step(self, state, dt):
        state.left -= 1

    def view(self, state, viewer):
        return {"left": state.left}

    def outcome(self, state):
        return Outcome({0: 1, 1: 1}, reason="draw") if state.left <= 0 else None
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_ADDOPTS")}
    env.update(DEBUG="1", DJANGO_SETTINGS_MODULE="settings")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project (without .venv and .git) with `startgame tic_tac_toe` run in it."""
    copy = tmp_path_factory.mktemp("startgame") / "skirmish"
    shutil.copytree(ROOT, copy, ignore=SKIP)
    for stray in ("engine/games/tic_tac_toe.py", "tests/engine/test_game_tic_tac_toe.py"):
        (copy / stray).unlink(missing_ok=True)
    done = run(copy, "manage.py", "startgame", "tic_tac_toe", "--title", "Tic-tac-toe")
    assert done.returncode == 0, done.stderr
    assert "Registered TicTacToe in engine/games/__init__.py" in done.stdout
    return copy


def test_the_scaffold_stubs_every_method_of_the_game_interface(project: Path):
    source = (project / "engine" / "games" / "tic_tac_toe.py").read_text()
    for method in ("options", "setup", "apply", "step", "view", "outcome", "drop"):
        assert f"def {method}(" in source
        assert f'raise _todo("{method}",' in source
    assert 'name = "tic_tac_toe"' in source and "title = 'Tic-tac-toe'" in source
    registry = (project / "engine" / "games" / "__init__.py").read_text()
    assert "from engine.games.tic_tac_toe import TicTacToe" in registry
    assert "TicTacToe())}" in registry


def test_the_generated_test_runs_and_fails_naming_the_method_to_write(project: Path):
    result = run(project, "-m", "pytest", "tests/engine/test_game_tic_tac_toe.py", "-q", "-p", "no:cacheprovider")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out  # tests failed (not an error collecting or running them)
    assert "1 passed" in out and "2 failed" in out, out  # the registration test passes already
    assert "NotImplementedError: TicTacToe.options() is not written yet (engine/games/tic_tac_toe.py)" in out, out


def test_once_the_game_is_written_the_generated_test_passes(project: Path, tmp_path: Path):
    written = tmp_path / "skirmish"
    shutil.copytree(project, written)
    (written / "engine" / "games" / "tic_tac_toe.py").write_text(WRITTEN)
    result = run(written, "-m", "pytest", "tests/engine/test_game_tic_tac_toe.py", "-q", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Tic-Tac", "not a valid game name"),
        ("x", "not a valid game name"),
        ("class", "reserved"),
        ("arena", "already registered"),
        ("double__under", "not a valid game name"),
    ],
)
def test_bad_or_taken_names_are_refused_before_anything_is_written(name: str, message: str):
    with pytest.raises(CommandError, match=message):
        call_command("startgame", name)
    assert not (ROOT / "engine" / "games" / f"{name}.py").exists() or name == "arena"
