"""Soak: many back-to-back sessions through the real pipeline; prints RSS growth and failures.

    .venv/bin/python benchmarks/soak.py --source ../shared/datasets/photos --sessions 1000 --hold 10

Each session runs headless (the same engine and pipeline as the kiosk) on the source until a
verdict or the end of the source; one pipeline is reused, as in the kiosk, so leaks accumulate.
Target: RSS growth < 20 MB over 1,000 sessions, 0 failures.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import load_config  # noqa: E402
from kiosk.headless import run_verify  # noqa: E402
from kiosk.session.events import ALL_NEEDS  # noqa: E402
from kiosk.vision.pipeline import VisionPipeline  # noqa: E402
from kiosk.vision.sources import open_source  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--hold", type=int, default=30, help="frames per image of a folder")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument(
        "--all-detectors",
        type=int,
        default=5,
        metavar="N",
        help="after each session, N frames with every detector on (hands, gesture, emotion too), "
        "so that models a short session never reaches are soaked as well",
    )
    args = ap.parse_args()
    cfg = load_config()
    pipeline = VisionPipeline(cfg)
    everything = ALL_NEEDS
    src = open_source(args.source, hold=1, loop=True)
    extra = [src.read().image for _ in range(args.all_detectors)]
    src.close()
    verdicts = collections.Counter()
    failures = []
    t0 = time.perf_counter()
    base = None
    for i in range(args.sessions):
        if i == args.warmup:
            gc.collect()
            base = rss_mb()
        try:
            out = run_verify(cfg, args.source, hold=args.hold, pipeline=pipeline)
            verdicts[out["verdict"]] += 1
            pipeline.reset()
            for image in extra:
                pipeline.process(image, everything)
            pipeline.reset()
        except Exception as exc:  # a failure is any exception escaping a session
            failures.append(f"session {i}: {exc!r}")
    gc.collect()
    end = rss_mb()
    pipeline.close()
    print(
        json.dumps(
            {
                "sessions": args.sessions,
                "verdicts": dict(verdicts),
                "failures": len(failures),
                "first_failures": failures[:5],
                "rss_after_warmup_mb": round(base or end, 1),
                "rss_end_mb": round(end, 1),
                "rss_growth_mb": round(end - (base or end), 1),
                "wall_s": round(time.perf_counter() - t0, 1),
            },
            indent=2,
        )
    )
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
