"""`kiosk self-test` (the bundle's --self-test): load every model, render every screen offscreen,
synthesize one prompt. Prints one line per check and exits non-zero if any failed."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any


def self_test(cfg: Any, out_dir: str | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # The lockout state stays in memory: an operator runs the self-test beside the running
    # service, whose session in progress it would otherwise take for one cut by a crash (a
    # failure counted, a "fail" verdict owed) and whose file it would write.
    cfg = dataclasses.replace(cfg, security=dataclasses.replace(cfg.security, state_path=""))
    failures = 0

    def report(ok: bool, what: str) -> None:
        nonlocal failures
        failures += not ok
        print(f"[{'ok' if ok else 'FAIL'}] {what}")

    from .preflight import preflight
    from .session.events import Need
    from .vision.pipeline import VisionPipeline

    pipeline = VisionPipeline(cfg, static_image_mode=True)
    for status in pipeline.models.values():
        report(status.available, f"model {status.name}: {status.path} {status.version or status.error}")
    import numpy as np

    obs = pipeline.process(np.zeros((240, 320, 3), np.uint8), frozenset({Need.FACE}))
    report(not obs.face, "MediaPipe face mesh runs")
    checked = preflight(cfg, pipeline)
    pool = checked.pool
    report(len(pool) > 0, f"challenge pool: {len(pool)} challenges ({', '.join(sorted({c.kind for c in pool}))})")
    for note in checked.notes:
        print(f"       {note}")

    from .reporting import NullReporter
    from .ui.app import build_kiosk

    target = Path(out_dir or tempfile.mkdtemp(prefix="kiosk-selftest-"))
    kiosk = build_kiosk(cfg, pipeline=pipeline, start_worker=False, reporter=NullReporter())
    # The controller's refresh timer would put the attract screen back between a scene and its
    # screenshot: stopped before rendering, so each file shows the screen it is named after.
    kiosk.controller.timer.stop()
    kiosk.window.resize(1280, 800)
    kiosk.window.show()
    try:
        for problem in render_and_check(kiosk.window, target):
            report(False, problem)
        report(True, f"rendered 8 screens into {target}")
    except Exception as exc:  # report, do not crash: the self-test must list every problem
        report(False, f"rendering screens: {exc}")
    finally:
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


def render_and_check(window: Any, out_dir: Path) -> list[str]:
    """Render every scene; a problem for each screen that is not the one its file is named after:
    another page current, the wrong title, a title not visible, or the same pixels as another scene."""
    from PySide6.QtGui import QImage

    from .ui.gallery import render, scenes

    out_dir.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    seen: dict[str, str] = {}
    all_scenes = scenes(window)
    for scene in all_scenes:
        path = render(window, scene, out_dir)
        current = window.stack.currentWidget()
        if current is not scene.screen:
            problems.append(
                f"screen {scene.name}: {type(current).__name__} shown instead of {type(scene.screen).__name__}"
            )
        title = scene.screen.title
        if title.text() != scene.title or not title.isVisible():
            problems.append(
                f"screen {scene.name}: title {title.text()!r} (visible: {title.isVisible()}), expected {scene.title!r}"
            )
        image = QImage(str(path))
        if image.isNull() or image.width() < 100 or image.height() < 100:
            problems.append(f"screen {scene.name}: {path} is not a readable screenshot")
            continue
        digest = hashlib.sha256(bytes(image.constBits())).hexdigest()
        if digest in seen:
            problems.append(f"screen {scene.name}: the same picture as {seen[digest]}")
        seen.setdefault(digest, scene.name)
    if len(all_scenes) != 8:
        problems.append(f"{len(all_scenes)} screens rendered, expected 8")
    return problems
