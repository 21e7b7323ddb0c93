"""The kiosk's screens. Each one only displays what it is given and forwards button presses."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from ..session.engine import PROFILES, SessionView, State
from . import strings as S
from .strings import tr
from .theme import MIN_TOUCH_MM


def touch_px(widget: QWidget, mm: float = MIN_TOUCH_MM) -> int:
    """Pixels for a physical size on the screen the widget is on (touch targets >= 2 cm)."""
    screen = widget.screen()
    dpi = screen.physicalDotsPerInch() if screen else 96.0
    return int(round(mm / 25.4 * max(dpi, 72.0)))


def label(text: str = "", name: str = "", align=Qt.AlignmentFlag.AlignCenter) -> QLabel:
    w = QLabel(text)
    w.setObjectName(name)
    w.setAlignment(align)
    w.setWordWrap(True)
    w.setAccessibleName(name or "text")
    return w


def button(text: str, accessible: str, parent: QWidget | None = None) -> QPushButton:
    b = QPushButton(text, parent)
    b.setAccessibleName(accessible)
    b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return b


def fit_touch(b: QPushButton) -> None:
    px = touch_px(b)
    b.setMinimumSize(max(px, b.minimumWidth()), max(px, b.minimumHeight()))


class CameraView(QLabel):
    """The live mirror view. Frames are shown, never stored."""

    def __init__(self):
        super().__init__()
        self.setObjectName("camera")
        self.setAccessibleName("camera view")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_frame(self, image: QImage) -> None:
        self.setPixmap(QPixmap.fromImage(image).scaled(
            self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))

    def clear_frame(self) -> None:
        self.clear()


class AttractScreen(QWidget):
    start = Signal()

    def __init__(self):
        super().__init__()
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        self.icon = label("👋", "icon")
        self.title = label(name="title")
        self.detail = label(name="detail")
        self.start_button = button("", "start")
        self.start_button.clicked.connect(self.start)
        for w in (self.icon, self.title, self.detail):
            lay.addWidget(w)
        lay.addWidget(self.start_button, alignment=Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(tr(S.ATTRACT_TITLE))
        self.detail.setText(tr(S.ATTRACT_DETAIL))
        self.start_button.setText("▶ " + tr(S.START))
        self.start_button.setAccessibleName(tr(S.START))


class WelcomeScreen(QWidget):
    start = Signal()
    profile = Signal(str)

    def __init__(self):
        super().__init__()
        lay = QVBoxLayout(self)
        self.title = label(name="title")
        self.detail = label(name="detail")
        lay.addWidget(self.title)
        lay.addWidget(self.detail)
        grid = QGridLayout()
        self.profile_buttons: dict[str, QPushButton] = {}
        icons = {"standard": "🙂", "no_hands": "🙌", "no_expression": "😐", "limited_head": "🧍", "no_sight": "🔊"}
        for i, name in enumerate(PROFILES):
            b = button("", name)
            b.setCheckable(True)
            b.setProperty("icon_text", icons.get(name, ""))
            b.clicked.connect(lambda _=False, n=name: self.profile.emit(n))
            self.profile_buttons[name] = b
            grid.addWidget(b, i // 2, i % 2)
        lay.addLayout(grid)
        self.start_button = button("", "start")
        self.start_button.clicked.connect(self.start)
        lay.addWidget(self.start_button)
        self.retranslate()
        self.select("standard")

    def set_available(self, names: list[str]) -> None:
        for name, b in self.profile_buttons.items():
            b.setVisible(name in names)

    def select(self, name: str) -> None:
        for n, b in self.profile_buttons.items():
            b.setChecked(n == name)

    def retranslate(self) -> None:
        self.title.setText(tr(S.WELCOME_TITLE))
        self.detail.setText(tr(S.WELCOME_DETAIL))
        for name, b in self.profile_buttons.items():
            text = tr(S.PROFILE_LABELS[name])
            b.setText(f"{b.property('icon_text')} {text}")
            b.setAccessibleName(text)
        self.start_button.setText("▶ " + tr(S.START))
        self.start_button.setAccessibleName(tr(S.START))


class SessionScreen(QWidget):
    """Level 1 and level 2: the mirror view beside the current instruction, countdown and progress."""

    more_time = Signal()
    cancel = Signal()

    def __init__(self):
        super().__init__()
        lay = QHBoxLayout(self)
        self.camera = CameraView()
        lay.addWidget(self.camera, 3)
        side = QVBoxLayout()
        lay.addLayout(side, 2)
        self.step = label(name="status")
        self.icon = label("", "icon")
        self.title = label(name="title")
        self.detail = label(name="detail")
        self.countdown = label(name="countdown")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)  # the count is in its own label, readable at any fill level
        self.progress.setAccessibleName("progress")
        self.progress_text = label(name="status")
        self.detected = label("", "detected")
        self.more_button = button("", "more time")
        self.more_button.clicked.connect(self.more_time)
        self.cancel_button = button("", "cancel")
        self.cancel_button.clicked.connect(self.cancel)
        for w in (self.step, self.icon, self.title, self.detail, self.countdown, self.progress,
                  self.progress_text, self.detected):
            side.addWidget(w)
        side.addWidget(self.more_button)
        side.addWidget(self.cancel_button)
        self.retranslate()

    def retranslate(self) -> None:
        self.more_button.setText("⏱ " + tr(S.MORE_TIME))
        self.more_button.setAccessibleName(tr(S.MORE_TIME))
        self.cancel_button.setText("✖ " + tr(S.CANCEL))
        self.cancel_button.setAccessibleName(tr(S.CANCEL))

    def show_view(self, v: SessionView) -> None:
        if v.state == State.LIVENESS:
            self.step.setText("")
            self.icon.setText("🙂")
            self.title.setText(tr(S.LIVENESS_TITLE))
            self.detail.setText(tr(S.LIVENESS_DETAIL))
            self.detected.setText("")
            self.more_button.setVisible(False)
        elif v.challenge is not None:
            c = v.challenge
            self.step.setText(tr(S.CHALLENGE_OF).format(index=v.index, total=v.total) + "   "
                              + tr(S.ATTEMPTS_LEFT).format(n=v.attempts_left))
            self.icon.setText(c.icon)
            self.icon.setAccessibleName(tr(c.text))
            self.title.setText(tr(c.text))
            self.detail.setText(tr(S.WELL_DONE) if v.in_gap else tr(c.instruction))
            self.detected.setText("✔ " + tr(S.DETECTED) if v.detected else "")
            self.more_button.setVisible(v.extensions_left > 0 and not v.in_gap)
        self.progress.setRange(0, max(1, v.needed))
        self.progress.setValue(min(v.streak, v.needed))
        self.progress_text.setText(f"{min(v.streak, v.needed)} / {v.needed}" if v.needed else "")
        self.countdown.setText("" if v.time_left is None else "⏳ " + tr(S.SECONDS_LEFT).format(n=int(v.time_left + 0.999)))


class ResultScreen(QWidget):
    def __init__(self):
        super().__init__()
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        self.icon = label("", "icon")
        self.title = label(name="result_pass")
        self.detail = label(name="detail")
        for w in (self.icon, self.title, self.detail):
            lay.addWidget(w)
        lay.addStretch(1)

    def show_result(self, passed: bool) -> None:
        # Only pass or fail reaches the user: never a score or which check failed.
        self.icon.setText("✅" if passed else "❌")
        self.title.setObjectName("result_pass" if passed else "result_fail")
        self.title.setText(tr(S.PASSED_TITLE if passed else S.DENIED_TITLE))
        self.detail.setText(tr(S.PASSED_DETAIL if passed else S.DENIED_DETAIL))
        self.title.style().unpolish(self.title)
        self.title.style().polish(self.title)


class MessageScreen(QWidget):
    """Camera missing, model missing, locked: an icon, a title and what to do."""

    def __init__(self):
        super().__init__()
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        self.icon = label("", "icon")
        self.title = label(name="title")
        self.detail = label(name="detail")
        for w in (self.icon, self.title, self.detail):
            lay.addWidget(w)
        lay.addStretch(1)

    def show_message(self, icon: str, title: str, detail: str) -> None:
        self.icon.setText(icon)
        self.title.setText(title)
        self.detail.setText(detail)
