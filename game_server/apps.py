from importlib import import_module

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def load_game(path: str) -> object:
    """Import a game class from "package.module:ClassName" and instantiate it."""
    module_name, _, class_name = path.partition(":")
    try:
        return getattr(import_module(module_name), class_name)()
    except (ImportError, AttributeError, ValueError) as exc:
        raise ImproperlyConfigured(f"EXTRA_GAMES: cannot load {path!r}: {exc}") from exc


class GameServerConfig(AppConfig):
    name = "game_server"
    verbose_name = "Game server"

    def ready(self) -> None:
        from engine.games import GAMES

        for path in settings.SKIRMISH_EXTRA_GAMES:
            game = load_game(path)
            GAMES[game.name] = game  # type: ignore[attr-defined]
