"""Skirmish settings, driven by environment variables (see README, "Configuration").

With nothing set you get the one-machine defaults: SQLite, the in-memory channel layer and
the engine running inside the web process. DATABASE_URL and REDIS_URL switch to PostgreSQL
and channels-redis with no code change.
"""

from settings.base import *  # noqa: F403
from settings.skirmish import *  # noqa: F403
