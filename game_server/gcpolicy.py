"""Garbage-collector settings for a process that ticks matches.

CPython's full collection stops the process for as long as it takes to scan every tracked object;
the tick loop waits behind it. Measured on the arena load (100 matches, 600 sockets, one core):
with the defaults, full collections came every ~5 s and took 20 ms at start-up, growing to 250 ms
within a minute (the input log was kept as lists; see engine.match.LogEntry); every match
skipped ticks behind each one. With the log compacted, they still took 50-100 ms every ~5 s.

`tune()` does three things, once the code is loaded:
- `gc.freeze()`: Django, the apps and the protocol models live as long as the process; moved out
  of the generations, they are never scanned again;
- a young collection after 5,000 (not 700) new tracked objects: each takes a few ms, far less
  often. 20,000 made fewer young collections, but the middle generation then held up to ten
  times that many objects, and its collections stopped the process for 33-89 ms (probed with
  `gc.callbacks` under the arena load, 100 matches); with 5,000, no collection in the measured
  20 s took over 10 ms;
- a full collection only after 100 (not 10) middle-generation collections. Under that load the
  process gained ~14,000 tracked objects a second, so this is one full collection every few
  minutes instead of every 5 s. Most garbage is freed by reference counting at once; only
  reference cycles wait longer to be freed.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION_AFTER = 5_000  # new tracked objects per young collection (CPython's default: 700)
FULL_COLLECTION_EVERY = 100  # middle-generation collections per full one (CPython's default: 10)


def tune() -> None:
    """Freeze what is loaded and make full collections rarer (call once, after start-up imports)."""
    gc.freeze()
    _, middle, _ = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_AFTER, middle, FULL_COLLECTION_EVERY)
