"""Renders every screen once with sample content: for the bundle's self-test and for reviews."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..session.catalogue import HEAD_POSE_CHALLENGES
from ..session.engine import SessionView, State
from . import strings as S
from .strings import tr


@dataclass(frozen=True)
class Scene:
    name: str
    show: Callable[[], Any]
    screen: Any  # the page of the window's stack that must be current
    title: str  # the text its title label must show


def scenes(window: Any) -> list[Scene]:
    w = window
    ch = HEAD_POSE_CHALLENGES[0]
    camera_title, locked_title = tr(S.CAMERA_TITLE), tr(S.LOCKED_TITLE)
    return [
        Scene("attract", lambda: w.show_screen(w.attract), w.attract, tr(S.ATTRACT_TITLE)),
        Scene("welcome", lambda: w.show_screen(w.welcome), w.welcome, tr(S.WELCOME_TITLE)),
        Scene(
            "liveness",
            lambda: (
                w.session.show_view(SessionView(State.LIVENESS, streak=40, needed=100, time_left=30.0, face=True)),
                w.show_screen(w.session),
            ),
            w.session,
            tr(S.LIVENESS_TITLE),
        ),
        Scene(
            "challenge",
            lambda: (
                w.session.show_view(
                    SessionView(State.CHALLENGE, ch, 2, 7, 12, 25, 6.2, 10.0, 3, True, False, 10, True)
                ),
                w.show_screen(w.session),
            ),
            w.session,
            tr(ch.text),
        ),
        Scene("passed", lambda: (w.result.show_result(True), w.show_screen(w.result)), w.result, tr(S.PASSED_TITLE)),
        Scene("denied", lambda: (w.result.show_result(False), w.show_screen(w.result)), w.result, tr(S.DENIED_TITLE)),
        Scene(
            "camera",
            lambda: (w.message.show_message("📷", camera_title, tr(S.CAMERA_DETAIL)), w.show_screen(w.message)),
            w.message,
            camera_title,
        ),
        Scene(
            "locked",
            lambda: (
                w.message.show_message("⏳", locked_title, tr(S.LOCKED_DETAIL).format(minutes=5)),
                w.show_screen(w.message),
            ),
            w.message,
            locked_title,
        ),
    ]


def notice_scenes(window: Any) -> list[Scene]:
    """The states laid over the screens above: a locked attract screen, a capture hint, the cancel
    question, the question screen (voice off?), help. Rendered for reviews (render_all); the self-test checks `scenes` only."""
    w = window
    ch = HEAD_POSE_CHALLENGES[0]
    locked_title = tr(S.LOCKED_TITLE)
    help_title = f"{tr(S.HELP)} · ⏸ {tr(S.PAUSED)}"
    return [
        Scene("attract_locked", lambda: (w.attract.show_lockout(4), w.show_screen(w.attract)), w.attract, locked_title),
        Scene(
            "too_far",
            lambda: (
                w.session.show_view(
                    SessionView(State.LIVENESS, streak=0, needed=100, time_left=30.0, face=True),
                    (S.CAPTURE_HINTS["too_far"][0], tr(S.LIVENESS_TITLE), tr(S.CAPTURE_HINTS["too_far"][1])),
                ),
                w.show_screen(w.session),
            ),
            w.session,
            tr(S.LIVENESS_TITLE),
        ),
        Scene(
            "cancel_question",
            lambda: (
                w.session.show_view(
                    SessionView(State.CHALLENGE, ch, 2, 7, 12, 25, 6.2, 10.0, 3),
                    (S.NOTICE_ICONS["cancel"], tr(S.CANCEL), tr(S.CANCEL_CONFIRM)),
                    paused=True,
                    question=True,
                ),
                w.show_screen(w.session),
            ),
            w.session,
            tr(S.CANCEL),
        ),
        Scene(
            "voice_off_question",
            lambda: (
                w.question.show_question(
                    S.NOTICE_ICONS["voice_off"],
                    tr(S.VOICE_OFF),
                    tr(S.VOICE_OFF_CONFIRM),
                    tr(S.YES_VOICE_OFF),
                    tr(S.NO_KEEP_VOICE),
                ),
                w.show_screen(w.question),
            ),
            w.question,
            tr(S.VOICE_OFF),
        ),
        Scene(
            "help",
            lambda: (
                w.message.show_message(S.NOTICE_ICONS["help"], help_title, tr(S.HELP_TEXT)),
                w.show_screen(w.message),
            ),
            w.message,
            help_title,
        ),
    ]


def render(window: Any, scene: Scene, out_dir: Path) -> Path:
    from PySide6.QtCore import QCoreApplication

    scene.show()
    QCoreApplication.processEvents()
    path = out_dir / f"{scene.name}.png"
    if not window.grab().save(str(path)):
        raise RuntimeError(f"could not render the {scene.name} screen")
    return path


def render_all(window: Any, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [render(window, scene, out_dir) for scene in scenes(window) + notice_scenes(window)]
    # leave the screens as a session would find them
    window.attract.show_lockout(None)
    window.session.show_view(SessionView(State.LIVENESS))
    return paths
