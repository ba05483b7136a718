"""The objects a process builds at start, kept out of the cyclic garbage collector's way.

A process that has imported its modules and built its app holds hundreds of thousands of
long-lived objects; every full collection walked all of them, and the youngest generation
was collected every 700 allocations. On the edge (a few hundred allocations per webhook)
that cost about a fifth of its throughput: under wrk, 2,200-2,400 requests/s before,
2,800-3,200 after, and ack p99 ~80 ms -> ~40 ms (bench/profile.md). In a stream worker,
which allocates a few thousand objects per alert, collections took 14 % of its CPU end to end
(3.4 s of 24 s at 1,000 alerts/s); with this, 0.4 s.
"""

from __future__ import annotations

import gc

# Allocations between collections of the youngest generation (Python's default is 700). Only
# objects in reference cycles wait for it; everything else is freed when its last reference goes.
YOUNG_THRESHOLD = 50_000


def freeze_startup_heap() -> None:
    """Once everything the process keeps is built: move it to the permanent generation (never
    scanned again) and collect the youngest generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
