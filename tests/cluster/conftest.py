"""Cluster fixtures: real Redis (a unique key prefix per test), two web processes, two engine workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.cluster.harness import CLUSTER_ENV, OPEN, Cluster, EngineProcess
from tests.e2e.server import DaphneServer, test_database_url

SHARED_REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test alone; its keys are deleted afterwards."""
    name = f"skirmish-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(SHARED_REDIS)
    try:
        keys = list(client.scan_iter(f"{name}*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()


def start_cluster(
    tmp_path: Path, redis_url: str, prefix: str, webs: int = 2, engines: int = 2, layer: str = "pubsub"
) -> Cluster:
    env = {**CLUSTER_ENV, "REDIS_URL": redis_url, "CHANNEL_LAYER_PREFIX": prefix, "CHANNEL_LAYER": layer}
    database_url = test_database_url()
    cluster = Cluster(webs=[], engines=[], env=env)
    for i in range(webs):
        cluster.webs.append(DaphneServer(database_url=database_url, log_path=tmp_path / f"web{i + 1}.log", env=env))
    for i in range(engines):
        engine_env = {**env, "DATABASE_URL": database_url}
        cluster.engines.append(EngineProcess(f"engine{i + 1}", engine_env, tmp_path / f"engine{i + 1}.log"))
    try:
        for proc in [*cluster.webs, *cluster.engines]:
            proc.start()
    except Exception:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    for proc in [*cluster.engines, *cluster.webs]:
        try:
            proc.stop()
        except Exception:
            if proc.proc is not None and proc.proc.poll() is None:
                proc.proc.kill()


@pytest.fixture
def cluster(request, transactional_db, tmp_path, prefix) -> Iterator[Cluster]:
    """Two daphne web processes and two runengine workers on the shared Redis.

    The default layer (pub/sub: game_server.redis_layer), or the one named by indirect
    parametrization ("core": channels-redis's RedisChannelLayer).
    """
    running = start_cluster(tmp_path, SHARED_REDIS, prefix, layer=getattr(request, "param", "pubsub"))
    try:
        yield running
    finally:
        stop_cluster(running)


@pytest.fixture(autouse=True)
async def close_sockets():
    """Close the test's websockets (also the ones whose server died)."""
    yield
    for client in OPEN:
        try:
            await client.close()
        except Exception:
            pass
    OPEN.clear()
