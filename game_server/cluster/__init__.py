"""Many engine workers on one Redis: match leases with fencing, checkpoints, failover.

- `store.py`: the Redis side (Lua scripts: acquire, renew-and-checkpoint, release, fence check, scan).
- `checkpoint.py`: a running match to bytes and back (pickle, games stored by name, hash-verified).
- `owner.py`: `LeasedHost`, a MatchHost that ticks a match only while it holds the match's lease.
- `bench_layers.py`: the per-tick fan-out benchmark of the two channels-redis layers.
"""
