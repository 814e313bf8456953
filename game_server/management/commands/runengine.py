"""`manage.py runengine`: an engine worker process (many matches, one asyncio loop).

It needs REDIS_URL (the channel layer and the leases live in Redis). SIGTERM or SIGINT hands
every match over to the other workers (a last checkpoint, then the lease is released) and exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from game_server import gcpolicy
from game_server.cluster.store import ClusterStore
from game_server.cluster.worker import ClusterWorker

logger = logging.getLogger("game_server.engine")


class Command(BaseCommand):
    help = "Run an engine worker: tick matches taken from the channel layer, with Redis leases and failover."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--worker-id", default=None, help="a name for this worker in logs and leases")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            raise CommandError("runengine needs REDIS_URL (without it the web process hosts the engine)")
        gcpolicy.tune()  # see game_server.gcpolicy
        asyncio.run(self.serve(options["worker_id"]))

    async def serve(self, worker_id: str | None) -> None:
        """Run the worker until SIGTERM/SIGINT, then hand its matches over."""
        store = ClusterStore(settings.REDIS_URL, settings.REDIS_PREFIX, max_connections=settings.REDIS_MAX_CONNECTIONS)
        worker = ClusterWorker(get_channel_layer(), store, worker_id)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        task = loop.create_task(worker.run(), name="skirmish-engine")
        logger.info("engine worker %s ready", worker.worker_id)
        self.stdout.write(f"engine worker {worker.worker_id} ready", ending="\n")
        self.stdout.flush()
        stopped = loop.create_task(stop.wait())
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            stopped.cancel()
            await task  # raises what killed the worker
            return
        logger.info("engine worker %s stopping: handing matches over", worker.worker_id)
        await worker.hand_over()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await store.close()
        logger.info("engine worker %s stopped", worker.worker_id)
