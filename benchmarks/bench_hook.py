"""A command hook that floods its output, and one that leaves a child holding its output: the
kiosk's CommandHook against the reference it replaced (subprocess.run with capture_output),
measured in the same run. Prints seconds, peak-RSS growth and the outcome of each.

    .venv/bin/python benchmarks/bench_hook.py [--mb 300]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from kiosk.verdict import CommandHook, make_record, sign, to_json_line  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reference(argv: list[str], line: bytes, timeout_s: float) -> bool:
    """What the hook did before: wait for the program and read all of its output into memory."""
    try:
        return subprocess.run(argv, input=line, capture_output=True, timeout=timeout_s).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def measure(name: str, send, argv: list[str], line: bytes, timeout_s: float) -> tuple[float, float]:
    before, t0 = peak_mb(), time.monotonic()
    ok = send(argv, line, timeout_s)
    seconds, grown = time.monotonic() - t0, peak_mb() - before
    print(
        f"  {name:9s} {'delivered' if ok else 'failed (spooled, sent again later)':36s} "
        f"{seconds:6.2f} s   peak RSS +{grown:6.0f} MB"
    )
    return seconds, grown


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=300, help="MB the flooding hook writes to stdout and to stderr")
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-hook-")
    flood = os.path.join(folder, "flood.py")
    with open(flood, "w") as fh:
        fh.write(
            f"import sys\nsys.stdin.read()\nc = b'x' * (1 << 20)\nfor _ in range({args.mb}):\n"
            "    sys.stdout.buffer.write(c)\n    sys.stderr.buffer.write(c)\n"
        )
    child = os.path.join(folder, "child.py")
    with open(child, "w") as fh:
        fh.write(
            "import sys, subprocess\nsys.stdin.read()\n"
            "subprocess.Popen(['sleep', '10'], stdout=sys.stdout, stderr=sys.stderr)\n"
        )
    record = sign(make_record("bench", True, 2, [], {}, 1.79e9, 1.79e9 + 1, "bench", valid_s=300), bytes(range(1, 33)))
    line = to_json_line(record)

    def kiosk(argv: list[str], data: bytes, timeout_s: float) -> bool:
        return CommandHook(argv, timeout_s, os.path.join(folder, "spool.jsonl")).deliver(record)

    # The kiosk's hook first: ru_maxrss is a peak, so the reference must not run before it.
    print(f"hook writing {args.mb} MB to stdout and {args.mb} MB to stderr, exit 0:")
    k_flood = measure("kiosk", kiosk, [sys.executable, flood], line, 60)
    r_flood = measure("reference", reference, [sys.executable, flood], line, 60)
    print("hook exiting 0 at once, leaving a child that holds its stdout/stderr for 10 s (timeout 5 s):")
    k_child = measure("kiosk", kiosk, [sys.executable, child], line, 5)
    r_child = measure("reference", reference, [sys.executable, child], line, 5)
    print(
        f"ratios kiosk/reference: flood time {k_flood[0] / r_flood[0]:.3f}, "
        f"flood memory {k_flood[1] / max(r_flood[1], 1):.3f}, child time {k_child[0] / r_child[0]:.3f}"
    )


if __name__ == "__main__":
    main()
