"""Command line: `kiosk [run]`, `kiosk verify`, `kiosk bench`, `kiosk self-test`, `kiosk check-config`,
`kiosk verify-record`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .config import ConfigError, load_config


def positive_int(text: str) -> int:
    """An argparse type: a count of frames or images must be at least 1 (0 is not a silent default)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk", description="Accessible human-verification kiosk")
    p.add_argument("--config", help="site config TOML (defaults: kiosk/default_config.toml)")
    p.add_argument("--self-test", action="store_true", help="same as the self-test command (for the bundle)")
    sub = p.add_subparsers(dest="command")

    run = sub.add_parser("run", help="start the full-screen kiosk (default)")
    run.add_argument("--source", help="camera index, video file or image folder (overrides camera.source)")
    run.add_argument("--windowed", action="store_true", help="a normal window instead of full screen")
    run.add_argument(
        "--metrics-port", type=int, help="loopback port of /metrics and /health, 0 = off (overrides metrics.port)"
    )

    ver = sub.add_parser("verify", help="run one session headless and print a JSON verdict")
    ver.add_argument("--source", required=True, help="video file or image folder")
    ver.add_argument("--script", help="fixed challenge order: 'head_pose:left,gesture:like' or a file")
    ver.add_argument("--hold", type=positive_int, default=1, help="repeat each image of a folder N times")
    ver.add_argument("--fps", type=positive_int, help="frames per second of an image folder (default camera.fps)")

    bench = sub.add_parser("bench", help="per-stage latency, fps and peak RSS over a source")
    bench.add_argument("--source", required=True)
    bench.add_argument("--frames", type=positive_int, default=200)
    bench.add_argument("--hold", type=positive_int, default=1)

    sub.add_parser("self-test", help="load every model, render every screen offscreen, synthesize a prompt")
    chk = sub.add_parser("check-config", help="validate a config file, its device key, models and challenge pool")
    # Optional: `kiosk --config FILE check-config`, the form of every other command and of the
    # unit's ExecStart, stopped at "the following arguments are required: path".
    chk.add_argument("path", nargs="?", help="config file (default: --config)")

    rec = sub.add_parser("verify-record", help="check signed verdict records (host side): signature, expiry, nonce")
    rec.add_argument("file", help="file of JSON records, one per line, or - for standard input")
    rec.add_argument("--key", help="device key file (default: verdict.key_path of --config)")
    rec.add_argument("--nonce", help="the nonce the host gave this kiosk; the record must carry it")
    rec.add_argument("--now", type=float, help="check expiry at these epoch seconds instead of now")
    return p


def check_config(path: str) -> int:
    """Everything `run` would refuse or be put out of service by, reported at once."""
    cfg = load_config(path)  # ConfigError lists every bad key
    from .preflight import preflight
    from .verdict import check_device_key, hook_problems
    from .vision.pipeline import VisionPipeline
    from .vision.sources import missing_source

    problems: list[tuple[str, str]] = []
    key_problem = check_device_key(cfg.path(cfg.verdict.key_path))
    if key_problem:
        problems.append(("verdict.key_path", key_problem))
    source_problem = missing_source(cfg.camera.source)
    if source_problem:
        problems.append(("camera.source", source_problem))
    pipeline = VisionPipeline(cfg, static_image_mode=True)
    try:
        checked = preflight(cfg, pipeline)
    finally:
        pipeline.close()
    problems += checked.missing_models
    problems += [p for p in checked.problems if p[0] not in {k for k, _ in problems}]  # once per key
    for note in checked.notes + hook_problems(cfg.verdict.hook):
        print(f"{path}: note: {note}")
    if problems:
        raise ConfigError("", "", problems)
    kinds = ", ".join(sorted({c.kind for c in checked.pool}))
    print(f"{path}: ok ({len(checked.pool)} challenges: {kinds})")
    return 0


def verify_records(file: str, key_file: str, nonce: str | None, now: float | None) -> int:
    """Print one JSON verdict check per record; 0 when every record is valid."""
    from .verdict import KeyFileError, check_record, load_device_key

    try:
        key = load_device_key(key_file)
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (KeyFileError, OSError, UnicodeDecodeError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        print(f"kiosk: no record in {file}", file=sys.stderr)
        return 2
    all_valid = True
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError as exc:
            record, problems = {}, [f"not JSON: {exc}"]
        else:
            problems = check_record(record, key, now=now, nonce=nonce)
        valid = not problems
        all_valid &= valid
        session = record.get("session_id") if isinstance(record, dict) else None
        out: dict[str, object] = {
            "valid": valid,
            "session_id": session,
            "verdict": record.get("verdict") if valid else None,
            "problems": problems,
        }
        if valid:
            must = (
                f"session_id {session!r} was not accepted before (keep accepted ids "
                f"until their expires_at, {record['expires_at']})"
            )
            if nonce is None:
                must += "; without --nonce the record is not bound to your request"
            out["host_must_check"] = must
        print(json.dumps(out, ensure_ascii=False))
    return 0 if all_valid else 1


def out_of_service(reason: str, windowed: bool = False) -> int:
    """`run` with a config it cannot use: the "out of service" screen naming the keys to fix, until
    stopped (0). Exiting instead would have systemd (Restart=always) start it into the same error
    every few seconds, with a blank screen in front of the visitor."""
    import signal

    from PySide6.QtCore import QTimer

    from .ui import strings as S
    from .ui.app import qt_app
    from .ui.strings import tr
    from .ui.theme import stylesheet
    from .ui.window import KioskWindow
    from .watchdog import Watchdog

    app = qt_app()
    app.setStyleSheet(stylesheet())
    window = KioskWindow()
    window.retranslate()
    window.message.show_message("🛠️", tr(S.MODEL_TITLE), tr(S.MODEL_DETAIL).format(what=reason))
    window.show_screen(window.message)
    for b in (window.voice_button, window.listen_button, window.help_button):
        b.hide()  # nothing behind them without a controller

    def stop(*_: object) -> None:
        window.allow_close = True
        app.quit()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    watchdog = Watchdog()
    pulse = QTimer()  # lets Python's signal handlers run, and keeps systemd's watchdog fed
    pulse.timeout.connect(watchdog.ping)
    pulse.start(250)
    if windowed:
        window.resize(1280, 800)
        window.show()
    else:
        window.showFullScreen()
    watchdog.ready()
    app.exec()
    watchdog.stopping()
    window.allow_close = True
    window.close()
    return 0


def _screen_or_exit_code() -> int | None:
    """`run` draws a window: at a text console with a GPU it draws straight to the screen, as
    the service does; with no screen at all, one clear line and NO_SCREEN_EXIT instead of Qt's
    abort. Under systemd (NOTIFY_SOCKET) it first waits a while for the screen to come."""
    from .display import NO_SCREEN_EXIT, SCREEN_WAIT_S, console_platform, wait_for_screen
    from .watchdog import Watchdog

    if platform := console_platform():
        os.environ["QT_QPA_PLATFORM"] = platform
        logging.getLogger("kiosk").info("no desktop session: drawing straight to the screen (%s)", platform)
    watchdog = Watchdog()
    problem = wait_for_screen(wait_s=SCREEN_WAIT_S if watchdog.enabled else 0.0, status=watchdog.status)
    if problem is None:
        return None
    logging.getLogger("kiosk").error("not started: %s", problem)
    print(f"kiosk: not started: {problem}", file=sys.stderr)
    return NO_SCREEN_EXIT


def main(argv: list[str] | None = None) -> int:
    from .privacy import forbid_core_dumps, install_log_filter

    forbid_core_dumps()  # before any frame is in memory: a crash must not write one to disk
    args = _parser().parse_args(argv)
    from .logging_setup import configure_logging

    # Repeated lines collapsed; KIOSK_LOG_FILE (optional) rotates with a size cap.
    configure_logging(os.environ.get("KIOSK_LOG", "WARNING"), os.environ.get("KIOSK_LOG_FILE") or None)
    install_log_filter()  # defence in depth: no image payload ever reaches a log
    command = "self-test" if args.self_test else (args.command or "run")
    if command == "run":
        if (code := _screen_or_exit_code()) is not None:
            return code
        from .display import fit_layout_to_screen
        from .memory import limit_arenas

        limit_arenas()  # before any thread starts, Qt's first ones included (kiosk.memory)
        fit_layout_to_screen()  # on a small screen: starts again, drawn smaller
    try:
        if command == "check-config":
            if args.path and args.config and Path(args.path).resolve() != Path(args.config).resolve():
                print(f"kiosk: check-config: two config files given ({args.config} and {args.path})", file=sys.stderr)
                return 2
            path = args.path or args.config
            if not path:
                print("kiosk: check-config: which config file? (kiosk check-config FILE)", file=sys.stderr)
                return 2
            return check_config(path)
        if command == "verify-record" and args.key:
            return verify_records(args.file, args.key, args.nonce, args.now)
        overrides: dict = {}
        if getattr(args, "source", None) and command == "run":
            overrides["camera"] = {"source": args.source}
        if getattr(args, "metrics_port", None) is not None and command == "run":
            overrides["metrics"] = {"port": args.metrics_port}
        cfg = load_config(args.config, overrides)
    except ConfigError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        if command == "run":
            keys = ", ".join(k for k in exc.keys if k) or "the config file"
            return out_of_service(
                f"configuration error in {keys} (details in the log)", windowed=getattr(args, "windowed", False)
            )
        return 2

    if command == "verify-record":
        return verify_records(args.file, str(cfg.path(cfg.verdict.key_path)), args.nonce, args.now)
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

        if args.frames < 1 or args.hold < 1:
            print("kiosk: --frames and --hold must be at least 1", file=sys.stderr)
            return 2
        try:
            print(json.dumps(run_bench(cfg, args.source, args.frames, args.hold), indent=2))
        except (ValueError, RuntimeError) as exc:  # unreadable source: one line, not a traceback
            print(f"kiosk: bench: {exc}", file=sys.stderr)
            return 2
        return 0
    if command == "self-test":
        from .selftest import self_test

        return self_test(cfg)
    from .ui.app import run_app

    return run_app(cfg, windowed=getattr(args, "windowed", False))


if __name__ == "__main__":
    sys.exit(main())
