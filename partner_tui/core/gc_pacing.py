"""When the cyclic garbage collector runs: between keystrokes, not inside one.

CPython starts a young collection whenever 700 more container objects have been made than
freed, wherever that happens; drawing a keystroke's frame makes a few hundred (Textual's
strips, segments, messages), so every second or third keystroke paid a collection before its
frame went out (0.3 ms, and ~1.3 ms for every tenth, which also walks generation 1: a tenth of
a keystroke's budget, DESIGN.md §8). :class:`GarbagePacer` raises the automatic threshold
well above what a keystroke makes and runs the same collections itself when the app says the
moment is right (after a frame has been sent, and now and then while idle), by the same
counts: so much garbage, so often, only at other moments. The raised threshold stays a safety
net for long work that makes many objects (a sync in a worker thread).

UI-free: the app decides when (``PartnerApp``); this only knows how.
"""

from __future__ import annotations

import gc

__all__ = ["GarbagePacer"]

# The automatic young threshold while paced: no keystroke makes this many container objects.
DEFERRED_THRESHOLD = 25_000


class GarbagePacer:
    """Young collections at chosen moments, by CPython's own thresholds (``gc.get_threshold``
    when :meth:`start` is called)."""

    def __init__(self, deferred_threshold: int = DEFERRED_THRESHOLD) -> None:
        self.deferred_threshold = deferred_threshold
        self._saved: tuple[int, int, int] | None = None
        self.collections = [0, 0, 0]  # run by :meth:`collect`, per generation

    @property
    def running(self) -> bool:
        return self._saved is not None

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            _, second, third = self._saved
            gc.set_threshold(max(self.deferred_threshold, self._saved[0]), second, third)

    def stop(self) -> None:
        """Give the collector its own thresholds back."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def collect(self) -> int | None:
        """Run the collection CPython would have run by now, if any; returns its generation.
        The counts carry over as CPython's do (a young collection counts one towards the
        next generation), so older generations are collected as often as they would be."""
        if self._saved is None or not gc.isenabled():
            return None
        first, second, third = self._saved
        young, middle, old = gc.get_count()
        if young <= first:  # (CPython: a generation is collected when its count > threshold)
            return None
        generation = 0
        if middle > second:
            generation = 2 if old > third else 1
        gc.collect(generation)
        self.collections[generation] += 1
        return generation
