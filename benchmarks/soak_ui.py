"""Soak of the whole kiosk process with a real display and audio: `kiosk run` under Xvfb (X11,
the xcb platform a desktop kiosk uses) with a private PulseAudio null sink, on a face photo, with
short sessions, for a fixed time. Measures what an unattended kiosk must not do:

- RSS growth of the process after a warm-up;
- log size (stderr at KIOSK_LOG=INFO, as under systemd) and tracebacks in it;
- freezes: the kiosk runs as under systemd with NOTIFY_SOCKET and WATCHDOG_USEC, and the soak
  records every WATCHDOG=1; the ping is only sent while frames are analysed and the session
  engine moves (kiosk.health), so a gap between pings is a stuck or frozen kiosk;
- sessions finished (verdict hook file) and the kiosk's own /metrics at the end.

    nice -n 10 .venv/bin/python benchmarks/soak_ui.py --photo ../shared/datasets/photos/business_person.png --minutes 20

Falls back to QT_QPA_PLATFORM=offscreen without Xvfb and to no audio without pulseaudio (both
are said in the output). benchmarks/soak.py soaks the engine and pipeline without Qt. A still
photo, played with camera-like noise and jitter, passes the (shortened) level 1 and then fails
the challenges by timeout, so every session reaches a verdict. Sessions are shortened by a site config (real_frames 15, 1.2 s per
challenge).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WATCHDOG_USEC = 3_000_000  # the kiosk pings every 1 s (a third of it) while healthy
FREEZE_GAP_S = 5.0  # no ping for this long counts as a freeze


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _verdict(line: dict) -> str:
    # a signed line carries the record, maybe nested under "record"
    return str(line.get("verdict") or (line.get("record") or {}).get("verdict"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_xvfb() -> tuple[subprocess.Popen | None, str]:
    if not shutil.which("Xvfb"):
        return None, ""
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    with os.fdopen(r) as fh:
        display = fh.readline().strip()
    return proc, f":{display}" if display else ""


def start_pulse(env: dict) -> subprocess.Popen | None:
    """A private PulseAudio with a null sink (its own XDG_RUNTIME_DIR): real audio output, no speakers."""
    if not shutil.which("pulseaudio"):
        return None
    proc = subprocess.Popen(
        [
            "pulseaudio",
            "--daemonize=no",
            "-n",
            "--exit-idle-time=-1",
            "--system=false",
            "--load=module-native-protocol-unix",
            "--load=module-null-sink sink_name=soak sink_properties=device.description=soak",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        if subprocess.run(["pactl", "info"], env=env, capture_output=True, check=False).returncode == 0:
            return proc
        time.sleep(0.2)
    proc.kill()
    return None


class PingRecorder(threading.Thread):
    """systemd's side of sd_notify: stamps every message the kiosk sends."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.5)
        self.messages: list[tuple[float, str]] = []
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode(errors="replace")))


def scrape(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def metric(text: str, name: str) -> float | None:
    """The value of an unlabelled sample in the Prometheus text format."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


# kiosk.vision.pipeline logs "<name> model loaded on first use" for each model it loads late
LAZY_LOAD = re.compile(r"(\S+) model loaded on first use")


def lazy_loads(log: Path) -> frozenset[str]:
    return frozenset(LAZY_LOAD.findall(log.read_text(errors="replace")))


def count_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def warm_baseline(
    samples: list[tuple[float, float]], progress: list[tuple[frozenset[str], int]]
) -> tuple[float, float] | None:
    """(t, RSS) at the first sample after the session that loaded the last lazy model ended."""
    if not progress:
        return None
    every = progress[-1][0]
    loaded_at = next(i for i, (loads, _) in enumerate(progress) if len(loads) == len(every))
    verdicts_then = progress[loaded_at][1]
    for i in range(loaded_at, len(progress)):
        if progress[i][1] > verdicts_then:
            return samples[i]
    return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photo", required=True, help="an image with one face")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--warmup-s", type=float, default=60.0, help="RSS growth is measured from here")
    ap.add_argument("--offscreen", action="store_true", help="no Xvfb: Qt's offscreen platform")
    ap.add_argument("--no-audio", action="store_true", help="no PulseAudio null sink")
    ap.add_argument("--keep-log", help="copy the kiosk's stderr log here")
    ap.add_argument(
        "--memprobe",
        type=float,
        metavar="SECONDS",
        help="diagnosis: run the kiosk under benchmarks/memprobe.py (tracemalloc, objects by type, "
        "native = RSS - traced, glibc heap) with a sample every SECONDS; slows the kiosk",
    )
    ap.add_argument("--memprobe-out", default="artifacts/memprobe.jsonl", help="where memprobe writes")
    ap.add_argument(
        "--memprobe-frames",
        type=int,
        default=1,
        help="tracemalloc traceback depth (1: by line, 0: no tracing, only RSS, heap and object counts)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        faces, home, run = d / "faces", d / "home", d / "run"
        for p in (faces, home, run):
            p.mkdir(mode=0o700)
        # A repeated, pixel-identical photo never passes level 1 (a frozen feed): the photo is
        # played as a camera would deliver it, with sensor noise and jitter (the tests' helper).
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import camera_like_frames

        camera_like_frames(Path(args.photo), faces)
        verdicts = d / "verdicts.jsonl"
        site = d / "site.toml"
        site.write_text(
            "[liveness]\nreal_frames = 15\n[challenges]\ntime_limit_s = 1.2\n"
            "[session]\nresult_display_s = 1.0\nauto_start_s = 0.5\n"
            "[security]\nmax_failures = 1000\n"  # the most config allows: a soak must not lock itself out
            f'[verdict]\nhook = "file:{verdicts}"\n'
        )
        env = dict(
            os.environ,
            HOME=str(home),
            PYTHONPATH=str(ROOT),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_RUNTIME_DIR=str(run),
            KIOSK_LOG="INFO",
            NOTIFY_SOCKET=str(d / "notify.sock"),
            WATCHDOG_USEC=str(WATCHDOG_USEC),
        )
        env.pop("PULSE_SERVER", None)
        xvfb, display = (None, "") if args.offscreen else start_xvfb()
        if display:
            env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
        else:
            env["QT_QPA_PLATFORM"] = "offscreen"
        pulse = None if args.no_audio else start_pulse(env)
        pings = PingRecorder(d / "notify.sock")
        pings.start()
        port = free_port()
        log = d / "stderr.log"
        final_metrics, health = "", (0, "")
        alive = stop_hung = False
        try:
            launcher = ["-m", "kiosk"]
            if args.memprobe:
                probe_out = Path(args.memprobe_out).resolve()
                probe_out.parent.mkdir(parents=True, exist_ok=True)
                probe_out.unlink(missing_ok=True)
                launcher = [
                    str(ROOT / "benchmarks" / "memprobe.py"),
                    str(probe_out),
                    str(args.memprobe),
                    str(args.memprobe_frames),
                    "--",
                ]
            with open(log, "w") as err:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        *launcher,
                        "--config",
                        str(site),
                        "run",
                        "--source",
                        str(faces),
                        "--metrics-port",
                        str(port),
                    ],
                    cwd=d,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
                t0 = time.monotonic()
                samples: list[tuple[float, float]] = []
                progress: list[tuple[frozenset[str], int]] = []
                try:
                    while time.monotonic() - t0 < args.minutes * 60 and proc.poll() is None:
                        time.sleep(5)
                        if proc.poll() is None:
                            samples.append((time.monotonic() - t0, rss_mb(proc.pid)))
                            progress.append((lazy_loads(log), count_lines(verdicts)))
                    alive = proc.poll() is None
                    if alive:
                        health = scrape(port, "/health")
                        final_metrics = scrape(port, "/metrics")[1]
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:  # did not stop: say where it hangs, then kill
                        stop_hung = True
                        if shutil.which("py-spy") and args.keep_log:
                            with open(args.keep_log + ".stacks", "w") as fh:
                                subprocess.run(
                                    ["py-spy", "dump", "--pid", str(proc.pid)],
                                    stdout=fh,
                                    stderr=subprocess.STDOUT,
                                    check=False,
                                    timeout=60,
                                )
                finally:
                    if proc.poll() is None:
                        proc.kill()
        finally:
            pings.stop = True
            pings.join(timeout=5)
            for helper in (pulse, xvfb):
                if helper is not None:
                    helper.terminate()
                    helper.wait(timeout=10)
        text = log.read_text(errors="replace")
        if args.keep_log:
            shutil.copyfile(log, args.keep_log)
        lines = verdicts.read_text().splitlines() if verdicts.exists() else []
        results = [_verdict(json.loads(line)) for line in lines]
        after = [r for t, r in samples if t >= args.warmup_s] or [r for _, r in samples]
        # Warm: every model the sessions use is loaded (the kiosk logs the lazy loads) and the
        # session that loaded the last one has ended; growth from there is what runs for months.
        warm = warm_baseline(samples, progress)
        ping_times = [t for t, m in pings.messages if m == "WATCHDOG=1"]
        ready = [t for t, m in pings.messages if m == "READY=1"]
        # gaps from READY=1 to the end of the run (a kiosk that stops pinging shows as one long gap)
        marks = ready[:1] + ping_times + [t0 + len(samples) * 5.0]
        gaps = [b - a for a, b in itertools.pairwise(marks)] if ready else []
        print(
            json.dumps(
                {
                    "minutes": args.minutes,
                    "display": display or "offscreen",
                    "audio": "pulseaudio null sink" if pulse else "none",
                    "sessions_finished": len(results),
                    "results": {r: results.count(r) for r in sorted(set(results))},
                    "alive_until_sigterm": alive,
                    "stopped_within_30s_of_sigterm": not stop_hung,
                    "exit_code": proc.returncode,
                    "tracebacks": text.count("Traceback"),
                    "log_bytes": len(text.encode()),
                    "log_lines": len(text.splitlines()),
                    "watchdog_pings": len(ping_times),
                    "max_ping_gap_s": round(max(gaps), 2) if gaps else None,
                    "freezes": sum(g > FREEZE_GAP_S for g in gaps),
                    "ready_sent": bool(ready),
                    "health_at_end": health[0],
                    "frames_analysed": metric(final_metrics, "kiosk_frames_total"),
                    "error_storms": metric(final_metrics, "kiosk_error_storms_total"),
                    "log_lines_suppressed": metric(final_metrics, "kiosk_log_lines_suppressed_total"),
                    "audio_up": metric(final_metrics, "kiosk_audio_up"),
                    "rss_after_warmup_mb": round(after[0], 1) if after else None,
                    "rss_end_mb": round(after[-1], 1) if after else None,
                    "rss_growth_mb": round(after[-1] - after[0], 1) if after else None,
                    "rss_max_mb": round(max(after), 1) if after else None,
                    "lazy_model_loads": sorted(progress[-1][0]) if progress else [],
                    "rss_by_5_min": [round(r, 1) for t, r in samples if int(t) % 300 < 5],
                    "warm_at_s": round(warm[0]) if warm else None,
                    "rss_warm_mb": round(warm[1], 1) if warm else None,
                    "rss_growth_from_warm_mb": round(samples[-1][1] - warm[1], 1) if warm else None,
                    "rss_max_from_warm_mb": round(max(r for t, r in samples if t >= warm[0]), 1) if warm else None,
                },
                indent=2,
            )
        )
        ok = (
            alive
            and proc.returncode == 0
            and "Traceback" not in text
            and ready
            and results
            and not any(g > FREEZE_GAP_S for g in gaps)
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
