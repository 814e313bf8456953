"""The tick clock of this process: engine.ports.MonotonicClock, woken by a Linux timerfd.

asyncio's event loop on Linux waits in epoll, and epoll's timeout is whole milliseconds, rounded
up (selectors.EpollSelector): a timer due in 0.3 ms wakes an idle loop 1 ms later. Every tick
due while the loop is idle then starts 0-1 ms late, half a millisecond on average, which is a
quarter of the 2 ms jitter budget. A timerfd armed for the slot's exact moment is one more file
in the same epoll and wakes it to the microsecond.

One timerfd per clock, armed for the earliest slot that has sleepers. Python 3.11 has no
`os.timerfd_create` (3.13 does), so libc is called through ctypes. Where there is no timerfd
(not Linux, or a sandbox that refuses it) or `TICK_TIMERFD=0`, `tick_clock()` returns the plain
MonotonicClock, whose timers are the loop's own.
"""

from __future__ import annotations

import asyncio
import ctypes
import heapq
import logging
import os
import sys
import weakref

from django.conf import settings

from engine.ports import MonotonicClock

logger = logging.getLogger(__name__)

_CLOCK_MONOTONIC = 1  # the clock of time.monotonic() and of asyncio's loop.time()
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = 0o2000000
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


class TimerfdClock(MonotonicClock):
    """MonotonicClock whose grid slots are woken by one timerfd instead of the loop's timers."""

    def __init__(self) -> None:
        super().__init__()
        if _LIBC is None:
            raise OSError("timerfd is not available here")
        fd = _LIBC.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create failed")
        self._fd: int = fd
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[int] = []  # slots with sleepers, a heap
        self._armed: int | None = None  # the slot the timerfd is set for
        self._spec = _Itimerspec()
        weakref.finalize(self, os.close, fd)

    def _schedule(self, loop: asyncio.AbstractEventLoop, slot: int) -> None:
        if loop is not self._loop:
            self._attach(loop)
        heapq.heappush(self._pending, slot)
        if self._armed is None or slot < self._armed:
            self._arm(slot)

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch the timerfd on this loop (a clock outlives a test's loop; the new one takes over)."""
        old = self._loop
        if old is not None and not old.is_closed():
            old.remove_reader(self._fd)
        loop.add_reader(self._fd, self._fire)
        self._loop = loop
        self._armed = None
        self._pending.clear()  # (the old loop's slots: never armed again)

    def _arm(self, slot: int) -> None:
        moment = slot * self.GRAIN
        seconds = int(moment)
        value = self._spec.it_value
        value.tv_sec, value.tv_nsec = seconds, min(999_999_999, round((moment - seconds) * 1e9))
        if _LIBC.timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(self._spec), None) != 0:  # type: ignore[union-attr]
            errno = ctypes.get_errno()
            raise OSError(errno, f"timerfd_settime failed: {os.strerror(errno)}")
        self._armed = slot

    def _fire(self) -> None:
        try:
            os.read(self._fd, 8)  # (the expiry count; reading it clears the readiness)
        except BlockingIOError:
            pass
        self._armed = None
        assert self._loop is not None
        now = self._loop.time()
        pending = self._pending
        while pending and pending[0] * self.GRAIN <= now:
            self._wake(heapq.heappop(pending))
        if pending:
            self._arm(pending[0])  # (a moment already past fires at once)


def tick_clock() -> MonotonicClock:
    """The clock new match hosts tick on: a TimerfdClock where possible (see the module doc)."""
    if settings.SKIRMISH_TICK_TIMERFD and _LIBC is not None:
        try:
            return TimerfdClock()
        except OSError:
            logger.warning("no timerfd here: ticks wake on the event loop's timers (up to 1 ms late)", exc_info=True)
    return MonotonicClock()
