"""The Skirmish Python client library: asyncio, typed with the protocol's models, msgpack by default.

client = await SkirmishClient.sign_in("http://127.0.0.1:8000", "alice", "secret")
await client.create_lobby("Friday", "connect_four")
async for view in client.snapshots(): ...
"""

from clients.skirmish_client.client import MatchView, RawMessage, SkirmishClient, SnapshotStream, Stream
from clients.skirmish_client.errors import ConnectionRefused, Disconnected, SkirmishError
from clients.skirmish_client.http import issue_token, register

__all__ = [
    "ConnectionRefused",
    "Disconnected",
    "MatchView",
    "RawMessage",
    "SkirmishClient",
    "SkirmishError",
    "SnapshotStream",
    "Stream",
    "issue_token",
    "register",
]
