"""`kiosk self-test` (the bundle's --self-test): load every model, render every screen offscreen,
synthesize one prompt. Prints one line per check and exits non-zero if any failed."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def self_test(cfg, out_dir: str | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    failures = 0

    def report(ok: bool, what: str) -> None:
        nonlocal failures
        failures += not ok
        print(f"[{'ok' if ok else 'FAIL'}] {what}")

    from .pool import challenge_pool
    from .session.events import Need
    from .vision.pipeline import VisionPipeline
    pipeline = VisionPipeline(cfg, static_image_mode=True)
    for status in pipeline.models.values():
        report(status.available, f"model {status.name}: {status.path} {status.version or status.error}")
    import numpy as np
    obs = pipeline.process(np.zeros((240, 320, 3), np.uint8), frozenset({Need.FACE}))
    report(not obs.face, "MediaPipe face mesh runs")
    pool, notes = challenge_pool(cfg, pipeline)
    report(len(pool) > 0, f"challenge pool: {len(pool)} challenges ({', '.join(sorted({c.kind for c in pool}))})")
    for note in notes:
        print(f"       {note}")

    from .ui.app import build_kiosk
    from .ui.gallery import render_all
    target = Path(out_dir or tempfile.mkdtemp(prefix="kiosk-selftest-"))
    from .reporting import NullReporter
    kiosk = build_kiosk(cfg, pipeline=pipeline, start_worker=False, reporter=NullReporter())
    kiosk.window.resize(1280, 800)
    kiosk.window.show()
    try:
        paths = render_all(kiosk.window, target)
        report(all(p.stat().st_size > 1000 for p in paths), f"rendered {len(paths)} screens into {target}")
    except Exception as exc:  # report, do not crash: the self-test must list every problem
        report(False, f"rendering screens: {exc}")
    finally:
        kiosk.controller.timer.stop()
        kiosk.window.allow_close = True
        kiosk.window.close()
        pipeline.close()

    try:
        from .speech.tts import OfflineTTS
        wav = OfflineTTS().synthesize("Look at the camera.", "en")
        report(Path(wav).stat().st_size > 1000, f"offline speech prompt synthesized: {wav}")
    except Exception as exc:
        report(False, f"speech synthesis: {exc}")
    print("self-test passed" if failures == 0 else f"self-test: {failures} problem(s)")
    return 0 if failures == 0 else 1
