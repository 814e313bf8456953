"""`manage.py startgame NAME`: scaffold a new game, register it, and give it a test that runs.

Creates `engine/games/<name>.py` (the game class, every method stubbed with a NotImplementedError
that says what to write), `tests/engine/test_game_<name>.py` (kit-based tests that fail with those
messages until the game is written), and registers the game in `engine/games/__init__.py`.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from engine.games import GAMES

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "startgame"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
#: The registry line the command extends: `... for game in (Arena(), ConnectFour())}`.
REGISTRY = re.compile(r"(\{game\.name: game for game in \()(.*?)(\)\})")


def class_name_for(name: str) -> str:
    """connect_four -> ConnectFour."""
    return "".join(part.capitalize() for part in name.split("_") if part)


def check_name(name: str) -> None:
    """Refuse names that cannot be a module, a registry key, or that are taken."""
    if not NAME.match(name) or name.endswith("_") or "__" in name:
        raise CommandError(
            f"{name!r} is not a valid game name: use 2 to 32 lowercase letters, digits and single underscores,"
            " starting with a letter (e.g. tic_tac_toe)"
        )
    if keyword.iskeyword(name) or name in ("game", "games", "test"):
        raise CommandError(f"{name!r} is reserved; choose another name")
    if name in GAMES:
        raise CommandError(f"a game called {name!r} is already registered")


def check_title(title: str) -> None:
    """A title is one short line of plain text."""
    if not 1 <= len(title) <= 40 or any(c in title for c in '"\\\n\r\t') or not title.isprintable():
        raise CommandError("the title must be 1 to 40 printable characters, without quotes or backslashes")


def register(registry: Path, name: str, class_name: str) -> str:
    """The registry module's source with the new game imported and added to GAMES."""
    source = registry.read_text(encoding="utf-8")
    if not REGISTRY.search(source):
        raise CommandError(
            f"cannot find the GAMES line in {registry}; register the game by hand (docs/games.md, 'Register it')"
            f" or run with --no-register and set EXTRA_GAMES=engine.games.{name}:{class_name}"
        )
    source = REGISTRY.sub(lambda m: f"{m[1]}{m[2].rstrip(', ')}, {class_name}(){m[3]}", source, count=1)
    imports = list(re.finditer(r"^from engine\.games\.\w+ import \w+\n", source, re.M))
    line = f"from engine.games.{name} import {class_name}\n"
    at = imports[-1].end() if imports else source.index("\nGAMES")
    return source[:at] + line + source[at:]


class Command(BaseCommand):
    help = "Scaffold a new game in engine/games/<name>.py with a registration and a test module."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the game's registry key and module name, e.g. tic_tac_toe")
        parser.add_argument("--title", help="the title players see (default: from the name)")
        parser.add_argument(
            "--no-register",
            action="store_true",
            help="do not edit engine/games/__init__.py (register with EXTRA_GAMES instead)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        check_name(name)
        class_name = class_name_for(name)
        title = options["title"] or name.replace("_", " ").capitalize()
        check_title(title)
        root = Path(settings.BASE_DIR)
        game_path = root / "engine" / "games" / f"{name}.py"
        test_path = root / "tests" / "engine" / f"test_game_{name}.py"
        registry = root / "engine" / "games" / "__init__.py"
        for path in (game_path, test_path):
            if path.exists():
                raise CommandError(f"{path.relative_to(root)} already exists")
        new_registry = None if options["no_register"] else register(registry, name, class_name)
        values = {"name": name, "class_name": class_name, "title": title, "title_repr": repr(title)}
        game_path.write_text(self.render("game.py-tpl", values), encoding="utf-8")
        test_path.write_text(self.render("test.py-tpl", values), encoding="utf-8")
        self.stdout.write(f"Created {game_path.relative_to(root)} and {test_path.relative_to(root)}")
        if new_registry is not None:
            registry.write_text(new_registry, encoding="utf-8")
            self.stdout.write(f"Registered {class_name} in {registry.relative_to(root)}")
        else:
            self.stdout.write(f"Not registered: set EXTRA_GAMES=engine.games.{name}:{class_name} to load it")
        self.stdout.write(
            f"Next: run `.venv/bin/python -m pytest {test_path.relative_to(root)}` and write the method its"
            " failure names; docs/games.md walks through the rest."
        )

    @staticmethod
    def render(template: str, values: dict[str, str]) -> str:
        """Fill a template from templates/startgame."""
        return Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)
