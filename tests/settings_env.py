"""Loaded first (`-p tests.settings_env` in pytest's addopts): test defaults for the environment.

Tests run with DEBUG on (its development SECRET_KEY); any variable already set wins.
"""

import os

os.environ.setdefault("DEBUG", "1")
