"""The lobby's JSON API, mounted under /api/ by game_server.urls."""

from django.urls import path

from lobby import views

urlpatterns = [
    path("lobbies", views.lobby_list, name="api-lobbies"),
    path("players/<int:user_id>/matches", views.player_matches, name="api-player-matches"),
    path("matches/live", views.live_matches, name="api-live-matches"),
    path("matches/<str:match_id>", views.match_detail, name="api-match"),
    path("leaderboards/<str:game>", views.leaderboard, name="api-leaderboard"),
]
