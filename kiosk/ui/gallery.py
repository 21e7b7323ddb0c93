"""Renders every screen once with sample content: for the bundle's self-test and for reviews."""
from __future__ import annotations

from pathlib import Path

from ..session.catalogue import HEAD_POSE_CHALLENGES
from ..session.engine import SessionView, State
from . import strings as S
from .strings import tr


def render_all(window, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    w = window
    ch = HEAD_POSE_CHALLENGES[0]
    scenes = {
        "attract": lambda: w.show_screen(w.attract),
        "welcome": lambda: w.show_screen(w.welcome),
        "liveness": lambda: (w.session.show_view(SessionView(State.LIVENESS, streak=40, needed=100,
                                                             time_left=30.0, face=True)),
                             w.show_screen(w.session)),
        "challenge": lambda: (w.session.show_view(SessionView(State.CHALLENGE, ch, 2, 7, 12, 25, 6.2, 10.0, 3,
                                                              True, False, 10, True)),
                              w.show_screen(w.session)),
        "passed": lambda: (w.result.show_result(True), w.show_screen(w.result)),
        "denied": lambda: (w.result.show_result(False), w.show_screen(w.result)),
        "camera": lambda: (w.message.show_message("📷", tr(S.CAMERA_TITLE), tr(S.CAMERA_DETAIL)),
                           w.show_screen(w.message)),
        "locked": lambda: (w.message.show_message("⏳", tr(S.LOCKED_TITLE), tr(S.LOCKED_DETAIL).format(minutes=5)),
                           w.show_screen(w.message)),
    }
    from PySide6.QtCore import QCoreApplication
    paths = []
    for name, show in scenes.items():
        show()
        QCoreApplication.processEvents()
        path = out_dir / f"{name}.png"
        if not w.grab().save(str(path)):
            raise RuntimeError(f"could not render the {name} screen")
        paths.append(path)
    return paths
