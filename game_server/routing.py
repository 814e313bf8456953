from django.urls import path

from game_server.consumers import PlayerConsumer

websocket_urlpatterns = [
    path("ws/", PlayerConsumer.as_asgi()),
]
