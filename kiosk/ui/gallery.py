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
        "attract_locked": lambda: (w.attract.show_lockout(4), w.show_screen(w.attract)),
        "too_far": lambda: (w.session.show_view(SessionView(State.LIVENESS, streak=0, needed=100, time_left=30.0,
                                                            face=True),
                                                (S.CAPTURE_HINTS["too_far"][0], tr(S.LIVENESS_TITLE),
                                                 tr(S.CAPTURE_HINTS["too_far"][1]))),
                            w.show_screen(w.session)),
        "cancel_question": lambda: (w.session.show_view(SessionView(State.CHALLENGE, ch, 2, 7, 12, 25, 6.2, 10.0, 3),
                                                        (S.NOTICE_ICONS["cancel"], tr(S.CANCEL), tr(S.CANCEL_CONFIRM)),
                                                        paused=True, question=True),
                                    w.show_screen(w.session)),
        "help": lambda: (w.message.show_message(S.NOTICE_ICONS["help"], f"{tr(S.HELP)} · ⏸ {tr(S.PAUSED)}",
                                                tr(S.HELP_TEXT)),
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
    # leave the screens as a session would find them
    w.attract.show_lockout(None)
    w.session.show_view(SessionView(State.LIVENESS))
    return paths
