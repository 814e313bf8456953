from django.apps import AppConfig


class GameServerConfig(AppConfig):
    name = "game_server"
    verbose_name = "Game server"
