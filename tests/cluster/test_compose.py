"""compose.yaml: it parses, it has the promised topology, and every command it names exists here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["migrate", "web1", "web2", "engine1", "engine2"]


def run_python(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert args[0] == "python"
    return subprocess.run([sys.executable, *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)


def test_the_topology_is_redis_postgres_migrate_two_webs_two_engines_and_a_proxy():
    assert set(SERVICES) == {"redis", "postgres", "migrate", "web1", "web2", "engine1", "engine2", "proxy"}
    for name in ("web1", "web2", "engine1", "engine2"):
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert SERVICES[name]["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert SERVICES[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert SERVICES[name]["environment"]["ENGINE_MODE"] == "external"
    for name in ("web1", "web2"):
        assert "/healthz" in " ".join(SERVICES[name]["healthcheck"]["test"])
    assert SERVICES["proxy"]["depends_on"] == {
        "web1": {"condition": "service_healthy"},
        "web2": {"condition": "service_healthy"},
    }


def test_every_environment_variable_is_one_the_settings_read():
    sources = "".join(p.read_text() for p in (ROOT / "settings").glob("*.py"))
    for name in COMPOSE["x-skirmish-env"]:
        assert f'"{name}"' in sources, f"{name} is set in compose.yaml but no setting reads it"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_app_command_exists(service):
    command = SERVICES[service]["command"]
    if command[:2] == ["python", "manage.py"]:
        probe = run_python([*command[:3], "--help"])
        assert probe.returncode == 0, probe.stderr
    else:
        assert command[:3] == ["python", "-m", "daphne"]
        assert run_python(["python", "-m", "daphne", "--help"]).returncode == 0
        app = command[-1]
        module, attr = app.split(":")
        probe = run_python(["python", "-c", f"import django, os; import {module} as m; print(callable(m.{attr}))"])
        assert probe.returncode == 0 and probe.stdout.strip() == "True", probe.stderr


def test_the_cluster_tests_run_the_same_commands():
    from tests.cluster.harness import EngineProcess
    from tests.e2e.server import DaphneServer

    for name in ("engine1", "engine2"):
        assert tuple(SERVICES[name]["command"][1:]) == EngineProcess.COMMAND
    web = SERVICES["web1"]["command"]
    assert web[-1] == "game_server.asgi:application"
    assert "game_server.asgi:application" in DaphneServer.start.__code__.co_consts


def test_the_image_and_the_proxy_config_exist_and_pass_websocket_upgrades():
    dockerfile = (ROOT / "scripts" / "deploy" / "Dockerfile").read_text()
    for src in re.findall(r"^COPY (\S+)", dockerfile, re.M):
        assert (ROOT / src).exists(), src
    conf = (ROOT / "scripts" / "deploy" / "nginx.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "proxy_http_version 1.1;" in conf
    upstreams = set(re.findall(r"server (\w+):8000", conf))
    assert upstreams == {"web1", "web2"}
    assert "./scripts/deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in SERVICES["proxy"]["volumes"]
