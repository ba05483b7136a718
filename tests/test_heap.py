"""alertstream/heap.py: what a server process does once its app is built."""

from __future__ import annotations

import gc

from alertstream.heap import YOUNG_THRESHOLD, freeze_startup_heap


def test_startup_objects_leave_the_collectors_scans_and_young_collections_come_less_often() -> None:
    before = gc.get_threshold()
    startup: list[object] = []
    startup.append(startup)  # a cycle: only the collector could ever free it, so it tracks it
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        assert not any(o is startup for g in range(3) for o in gc.get_objects(generation=g))  # frozen
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
