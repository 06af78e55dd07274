"""GarbagePacer: the cyclic GC's young collections at chosen moments, by CPython's counts."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from partner_tui.core.gc_pacing import GarbagePacer


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def make_garbage(n: int) -> None:
    for _ in range(n):
        a: list[object] = []
        a.append(a)  # a cycle: only the cyclic collector frees it


def test_start_defers_and_stop_restores(thresholds: tuple[int, int, int]) -> None:
    pacer = GarbagePacer(deferred_threshold=50_000)
    pacer.start()
    assert gc.get_threshold() == (50_000, 10, 10)
    pacer.start()  # twice: still the original thresholds saved
    pacer.stop()
    assert gc.get_threshold() == thresholds
    assert pacer.collect() is None  # stopped: does nothing


def test_collect_runs_what_cpython_would_have_run(thresholds: tuple[int, int, int]) -> None:
    pacer = GarbagePacer(deferred_threshold=1_000_000)
    pacer.start()
    try:
        gc.collect()
        automatic: list[int] = []

        def note(phase: str, info: dict[str, int]) -> None:
            if phase == "start" and not collecting:
                automatic.append(info["generation"])

        collecting = False
        gc.callbacks.append(note)
        try:
            make_garbage(300)
            assert pacer.collect() is None  # fewer than 700 new objects: nothing yet
            generations = []
            for _ in range(25):
                make_garbage(800)
                collecting = True
                generations.append(pacer.collect())
                collecting = False
        finally:
            gc.callbacks.remove(note)
        assert automatic == []  # the raised threshold kept CPython from collecting itself
        # Every 12th young collection also takes generation 1 (when its count, one per young
        # collection, is > 10), as CPython does.
        assert generations.count(1) + generations.count(2) == 2, generations
        assert generations[11] == 1 and generations[23] == 1, generations
        assert set(generations) <= {0, 1, 2}
        assert sum(pacer.collections) == 25
        before = len(gc.garbage)
        make_garbage(800)
        assert pacer.collect() == 0
        assert gc.get_count()[0] < 50 and len(gc.garbage) == before  # the cycles were freed
    finally:
        pacer.stop()
