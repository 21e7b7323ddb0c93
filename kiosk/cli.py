"""Command line: `kiosk [run]`, `kiosk verify`, `kiosk bench`, `kiosk self-test`, `kiosk check-config`."""
from __future__ import annotations

import argparse
import json
import os
import sys

from .config import ConfigError, load_config
from .metrics import DEFAULT_PORT as DEFAULT_METRICS_PORT


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk", description="Accessible human-verification kiosk")
    p.add_argument("--config", help="site config TOML (defaults: kiosk/default_config.toml)")
    p.add_argument("--self-test", action="store_true", help="same as the self-test command (for the bundle)")
    sub = p.add_subparsers(dest="command")

    run = sub.add_parser("run", help="start the full-screen kiosk (default)")
    run.add_argument("--source", help="camera index, video file or image folder (overrides camera.source)")
    run.add_argument("--windowed", action="store_true", help="a normal window instead of full screen")
    run.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT,
                     help=f"loopback port of /metrics and /health (default {DEFAULT_METRICS_PORT}; 0 = off)")

    ver = sub.add_parser("verify", help="run one session headless and print a JSON verdict")
    ver.add_argument("--source", required=True, help="video file or image folder")
    ver.add_argument("--script", help="fixed challenge order: 'head_pose:left,gesture:like' or a file")
    ver.add_argument("--hold", type=int, default=1, help="repeat each image of a folder N times")
    ver.add_argument("--fps", type=int, help="frames per second of an image folder (default camera.fps)")

    bench = sub.add_parser("bench", help="per-stage latency, fps and peak RSS over a source")
    bench.add_argument("--source", required=True)
    bench.add_argument("--frames", type=int, default=200)
    bench.add_argument("--hold", type=int, default=1)

    sub.add_parser("self-test", help="load every model, render every screen offscreen, synthesize a prompt")
    chk = sub.add_parser("check-config", help="validate a config file")
    chk.add_argument("path")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .logging_setup import configure_logging
    # Repeated lines collapsed; KIOSK_LOG_FILE (optional) rotates with a size cap.
    configure_logging(os.environ.get("KIOSK_LOG", "WARNING"), os.environ.get("KIOSK_LOG_FILE") or None)
    from .privacy import install_log_filter
    install_log_filter()  # defence in depth: no image payload ever reaches a log
    command = "self-test" if args.self_test else (args.command or "run")
    try:
        if command == "check-config":
            load_config(args.path)
            print(f"{args.path}: ok")
            return 0
        overrides = {}
        if getattr(args, "source", None) and command == "run":
            overrides = {"camera": {"source": args.source}}
        cfg = load_config(args.config, overrides)
    except ConfigError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2

    if command == "verify":
        from .headless import run_verify
        try:
            result = run_verify(cfg, args.source, args.script, hold=args.hold, fps=args.fps)
        except (ValueError, RuntimeError) as exc:  # bad script, unreadable source
            print(json.dumps({"verdict": "error", "reason": str(exc)}))
            return 2
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0 if result["verdict"] in ("pass", "fail") else 1
    if command == "bench":
        from .headless import run_bench
        try:
            bench = run_bench(cfg, args.source, args.frames, args.hold)
        except (ValueError, RuntimeError) as exc:  # missing or unreadable source, bad --frames
            print(f"kiosk bench: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(bench, indent=2))
        return 0
    if command == "self-test":
        from .selftest import self_test
        return self_test(cfg)
    from .ui.app import run_app
    return run_app(cfg, windowed=getattr(args, "windowed", False),
                   metrics_port=getattr(args, "metrics_port", DEFAULT_METRICS_PORT))


if __name__ == "__main__":
    sys.exit(main())
