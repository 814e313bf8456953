"""Garbage-collector settings for a process that ticks matches.

CPython's full collection stops the process for as long as it takes to scan every tracked object;
the tick loop waits behind it. Measured on the arena load (100 matches, 600 sockets, one core):
with the defaults, full collections came every ~5 s and took 20 ms at start-up, growing to 250 ms
within a minute (the input log was kept as lists; see engine.match.LogEntry); every match
skipped ticks behind each one. With the log compacted, they still took 50-100 ms every ~5 s.

`tune()` does two things, once the code is loaded:
- `gc.freeze()`: Django, the apps and the protocol models live as long as the process; moved out
  of the generations, they are never scanned again;
- a full collection only after 100 (not 10) middle-generation collections: about one a minute
  under that load instead of every 5 s. Most garbage is freed by reference counting at once;
  only cycles wait longer, and young collections run as often as before.
"""

from __future__ import annotations

import gc

FULL_COLLECTION_EVERY = 100  # middle-generation collections per full one (CPython's default: 10)


def tune() -> None:
    """Freeze what is loaded and make full collections rarer (call once, after start-up imports)."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
