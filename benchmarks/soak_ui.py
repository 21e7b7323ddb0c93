"""Soak of the whole kiosk process (Qt window, camera worker thread, speech, verdict hook):
`kiosk run` offscreen on a face photo, with short sessions, for a fixed time; prints sessions
finished, RSS growth of the process and any traceback.

    .venv/bin/python benchmarks/soak_ui.py --photo ../shared/datasets/photos/business_person.png --minutes 10

benchmarks/soak.py soaks the engine and pipeline for 1,000 sessions without Qt; this one covers
what that cannot: signals across threads, screens, timers, the speech queue. A still photo passes
the (shortened) level 1 and then fails the challenges by timeout, so every session reaches a
verdict. Sessions are shortened by a site config (real_frames 15, 1 s per challenge).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _verdict(line: dict) -> str:
    # a signed line carries the record, maybe nested under "record"
    return str(line.get("verdict") or (line.get("record") or {}).get("verdict"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photo", required=True, help="an image with one face")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--warmup-s", type=float, default=60.0, help="RSS growth is measured from here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        faces, home = d / "faces", d / "home"
        faces.mkdir()
        home.mkdir()
        (faces / Path(args.photo).name).write_bytes(Path(args.photo).read_bytes())
        verdicts = d / "verdicts.jsonl"
        site = d / "site.toml"
        site.write_text("[liveness]\nreal_frames = 15\n[challenges]\ntime_limit_s = 1.0\n"
                        "[session]\nresult_display_s = 1.0\nauto_start_s = 0.5\n"
                        "[security]\nmax_failures = 1000000\n"  # a soak must not lock itself out
                        f'[verdict]\nhook = "file:{verdicts}"\n')
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home), PYTHONPATH=str(ROOT),
                   XDG_CACHE_HOME=str(home / ".cache"), KIOSK_LOG="WARNING")
        log = d / "stderr.log"
        with open(log, "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--config", str(site), "run",
                                     "--source", str(faces)], cwd=d, env=env, stdout=subprocess.DEVNULL, stderr=err)
            t0 = time.monotonic()
            samples = []
            try:
                while time.monotonic() - t0 < args.minutes * 60 and proc.poll() is None:
                    time.sleep(5)
                    if proc.poll() is None:
                        samples.append((time.monotonic() - t0, rss_mb(proc.pid)))
                alive = proc.poll() is None
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
        text = log.read_text(errors="replace")
        lines = verdicts.read_text().splitlines() if verdicts.exists() else []
        results = [_verdict(json.loads(line)) for line in lines]
        after = [r for t, r in samples if t >= args.warmup_s] or [r for _, r in samples]
        print(json.dumps({
            "minutes": args.minutes, "sessions_finished": len(results),
            "results": {r: results.count(r) for r in sorted(set(results))},
            "alive_until_sigterm": alive, "exit_code": proc.returncode,
            "tracebacks": text.count("Traceback"),
            "rss_after_warmup_mb": round(after[0], 1) if after else None,
            "rss_end_mb": round(after[-1], 1) if after else None,
            "rss_growth_mb": round(after[-1] - after[0], 1) if after else None,
            "rss_max_mb": round(max(after), 1) if after else None,
        }, indent=2))
        return 0 if alive and proc.returncode == 0 and "Traceback" not in text else 1


if __name__ == "__main__":
    sys.exit(main())
