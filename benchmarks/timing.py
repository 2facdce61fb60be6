"""Timing shared by the speed benchmarks."""

import time


def best_times(fns, repeat, inner=1):
    """The best time per call of each function, measured in turns.

    This machine's speed drifts (other work, memory state), so the contenders take turns,
    round after round, rather than each running all its rounds in one block: the ratios
    between them then compare like with like. Each is called once to warm up first."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            best[k] = min(best[k], (time.perf_counter() - start) / inner)
    return best
