from game_server.consumers.player import PlayerConsumer

__all__ = ["PlayerConsumer"]
