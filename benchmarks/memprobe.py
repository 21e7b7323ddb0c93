"""Runs `python -m kiosk ...` with a memory probe beside it, for benchmarks/soak_ui.py --memprobe.

    python benchmarks/memprobe.py OUT.jsonl INTERVAL_S FRAMES -- --config site.toml run --source DIR

Every INTERVAL_S a daemon thread appends one JSON line to OUT.jsonl: RSS, what tracemalloc
traces (Python and numpy allocations), native = RSS - traced (Qt, MediaPipe, TFLite, glibc heap
kept after free), glibc's own heap figures (mallinfo2: in use vs free-but-kept, the sign of
fragmentation), threads and open descriptors, the growth of tracemalloc by source line (by
traceback with FRAMES > 1) and of Python objects by type since the first sample and since the
previous one. A probe line holds the GIL while it snapshots every traced block, and tracing
itself slows every allocation: the traced run is a diagnosis, the plain soak is the measurement.
With FRAMES = 1 a block is charged to the Python line that allocated it (for a numpy array, the
line that called numpy); deeper tracebacks cost far more (12 frames: 75 s per snapshot and RSS
x2 on this machine); FRAMES = 0 traces nothing (cheap: RSS, its split by mapping, glibc's heap,
threads, descriptors and object counts only).
"""

from __future__ import annotations

import collections
import ctypes
import gc
import json
import os
import runpy
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

TOP = 15


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def _mallinfo(libc: Any) -> dict[str, float] | None:
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _MallInfo2
    m = libc.mallinfo2()
    mb = 1024 * 1024
    return {
        "heap_mb": round(m.arena / mb, 1),  # main + thread arenas, from brk/mmap'd heaps
        "heap_in_use_mb": round(m.uordblks / mb, 1),
        "heap_free_kept_mb": round(m.fordblks / mb, 1),  # freed but not returned: fragmentation
        "mmapped_mb": round(m.hblkhd / mb, 1),  # large blocks, returned on free
    }


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _rss_split_mb() -> dict[str, float]:
    """Resident memory by kind of mapping: the heap (brk), other anonymous memory (mmap'd malloc
    arenas and large blocks, pymalloc arenas, thread stacks, GPU/driver buffers) and files
    (shared libraries' code and data, model files mapped by TFLite)."""
    split = {"heap": 0, "anon": 0, "file": 0}
    kind = "anon"
    with open("/proc/self/smaps") as fh:
        for line in fh:
            first = line.split(maxsplit=6)
            if "-" in first[0] and len(first) >= 5:  # a mapping's header line
                name = first[5].strip() if len(first) > 5 else ""
                kind = "heap" if name == "[heap]" else "file" if name.startswith("/") else "anon"
            elif first[0] == "Rss:":
                split[kind] += int(first[1])
    return {k: round(v / 1024, 1) for k, v in split.items()}


def _type_counts() -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for obj in gc.get_objects():
        t = type(obj)
        counts[f"{t.__module__}.{t.__qualname__}"] += 1
    return counts


def _top_stats(now: tracemalloc.Snapshot, ref: tracemalloc.Snapshot) -> list[dict[str, Any]]:
    out = []
    key = "traceback" if tracemalloc.get_traceback_limit() > 1 else "lineno"
    for stat in now.compare_to(ref, key)[:TOP]:
        if stat.size_diff <= 0:
            break
        # the innermost frames of the project, or else the innermost frames at all
        frames = [f for f in stat.traceback if "/kiosk/" in f.filename] or list(stat.traceback)
        out.append(
            {
                "kb_diff": round(stat.size_diff / 1024, 1),
                "count_diff": stat.count_diff,
                "kb": round(stat.size / 1024, 1),
                "where": [f"{f.filename.rsplit('/', 3)[-1]}:{f.lineno}" for f in frames[:4]],
                "leaf": f"{stat.traceback[0].filename}:{stat.traceback[0].lineno}",
            }
        )
    return out


def _diff_counts(now: collections.Counter[str], ref: collections.Counter[str]) -> dict[str, int]:
    diff = {k: now[k] - ref.get(k, 0) for k in now}
    grown = sorted(((v, k) for k, v in diff.items() if v > 0), reverse=True)[:TOP]
    return {k: v for v, k in grown}


def _probe(out: Path, interval_s: float) -> None:
    libc = _libc()
    t0 = time.monotonic()
    first_snap = prev_snap = None
    first_counts: collections.Counter[str] = collections.Counter()
    prev_counts: collections.Counter[str] = collections.Counter()
    while True:
        time.sleep(interval_s)
        started = time.monotonic()
        gc.collect()
        tracing = tracemalloc.is_tracing()
        snap = (
            tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            if tracing
            else None
        )
        counts = _type_counts()
        traced, traced_peak = tracemalloc.get_traced_memory()
        rss = _rss_mb()
        line: dict[str, Any] = {
            "t_s": round(started - t0, 1),
            "rss_mb": round(rss, 1),
            "rss_split_mb": _rss_split_mb(),
            "malloc": _mallinfo(libc),
            "threads": threading.active_count(),
            "os_threads": len(os.listdir("/proc/self/task")),
            "fds": len(os.listdir("/proc/self/fd")),
            "objects": sum(counts.values()),
        }
        if tracing:
            line["traced_mb"] = round(traced / 2**20, 1)
            line["traced_peak_mb"] = round(traced_peak / 2**20, 1)
            line["native_mb"] = round(rss - traced / 2**20, 1)
        if first_counts:
            if snap is not None and first_snap is not None and prev_snap is not None:
                line["growth_since_first"] = _top_stats(snap, first_snap)
                line["growth_since_prev"] = _top_stats(snap, prev_snap)[:8]
            line["types_since_first"] = _diff_counts(counts, first_counts)
            line["types_since_prev"] = _diff_counts(counts, prev_counts)
        else:
            first_snap, first_counts = snap, counts
        prev_snap, prev_counts = snap, counts
        line["probe_s"] = round(time.monotonic() - started, 2)
        with open(out, "a") as fh:
            fh.write(json.dumps(line) + "\n")


def main() -> None:
    if len(sys.argv) < 5 or sys.argv[4] != "--":
        raise SystemExit("usage: memprobe.py OUT.jsonl INTERVAL_S FRAMES -- KIOSK_ARGS...")
    out, interval, frames = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    if frames > 0:  # 0: no tracing, only RSS, its split, glibc's heap, threads and object counts
        tracemalloc.start(frames)
    threading.Thread(target=_probe, args=(out, interval), name="memprobe", daemon=True).start()
    sys.argv = ["kiosk", *sys.argv[5:]]
    runpy.run_module("kiosk", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
