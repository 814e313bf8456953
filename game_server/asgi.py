"""The ASGI entry point: http -> Django; websocket -> origin check -> auth -> URL router."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
django_asgi_app = get_asgi_application()  # sets Django up before the imports below

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from game_server import daphne_adapter, gcpolicy  # noqa: E402
from game_server.auth import skirmish_auth_stack  # noqa: E402
from game_server.routing import websocket_urlpatterns  # noqa: E402

daphne_adapter.install(
    slow_bytes=settings.SKIRMISH_SLOW_CLIENT_BYTES,
    slow_seconds=settings.SKIRMISH_SLOW_CLIENT_SECONDS,
    drain_seconds=settings.SKIRMISH_DRAIN_SECONDS,
)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(skirmish_auth_stack(URLRouter(websocket_urlpatterns))),
    }
)

gcpolicy.tune()  # after every import: see game_server.gcpolicy
