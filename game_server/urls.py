from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from game_server import ops, views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/signin/",
        auth_views.LoginView.as_view(template_name="skirmish/signin.html", redirect_authenticated_user=True),
        name="signin",
    ),
    path("accounts/signout/", auth_views.LogoutView.as_view(), name="signout"),
    path("api/auth/register", views.api_register, name="api-register"),
    path("api/auth/token", views.api_token, name="api-token"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics_view, name="metrics"),
    path("staff/matches/", ops.monitor, name="monitor"),
    path("staff/matches/<uuid:match_id>/end", ops.monitor_end, name="monitor-end"),
    path("api/", include("lobby.urls")),
    path("", include("clients.urls")),
]
