"""The kiosk's screens. Each one only displays what it is given and forwards button presses."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..session.engine import PROFILES, SessionView, State
from . import strings as S
from .strings import tr
from .theme import COLOURS, MIN_TEXT_PX, MIN_TOUCH_MM

# Profile icons are drawn at twice the button text size (36 px): they are what a person with
# low vision or reading difficulties recognises first.
PROFILE_ICON_PX = 72
BAR_ICON_PX = 44
PROFILE_ICONS = {"standard": "🙂", "no_hands": "🙌", "no_expression": "😐", "limited_head": "🧍", "no_sight": "🔊"}


def touch_px(widget: QWidget, mm: float = MIN_TOUCH_MM) -> int:
    """Pixels for a physical size on the screen the widget is on (touch targets >= 2 cm)."""
    screen = widget.screen()
    dpi = screen.physicalDotsPerInch() if screen else 96.0
    return round(mm / 25.4 * max(dpi, 72.0))


def label(text: str = "", name: str = "", align=Qt.AlignmentFlag.AlignCenter) -> QLabel:
    w = FittingLabel(text)
    w.setObjectName(name)
    w.setAlignment(align)
    w.setWordWrap(True)
    w.setAccessibleName(name or "text")
    return w


def styled_px(label: QLabel) -> int:
    """The pixel size the style sheet gives a label's font."""
    font = label.font()
    return font.pixelSize() if font.pixelSize() > 0 else QFontMetrics(font).height()


class FittingLabel(QLabel):
    """Wrapped text that, given less height than it needs at its styled size (a 7-inch panel,
    whose 2 cm touch targets take more of the height; a long translation), is drawn a little
    smaller instead of losing its first and last lines; never below MIN_TEXT_PX, the smallest
    text the kiosk shows anywhere."""

    def _font_at(self, px: int) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(px)
        return font

    def _flags(self) -> int:
        return int(self.alignment()) | (int(Qt.TextFlag.TextWordWrap) if self.wordWrap() else 0)

    def needed_height(self, px: int) -> int:
        """Height the text takes at `px` in this label's width."""
        box = QRect(0, 0, max(1, self.contentsRect().width()), 1 << 20)
        return QFontMetrics(self._font_at(px)).boundingRect(box, self._flags(), self.text()).height()

    def text_px(self) -> int:
        """Pixel size the text is drawn at: the styled size, or the largest smaller one (down to
        MIN_TEXT_PX) at which it fits the label's height."""
        room = self.contentsRect().height()
        px = styled_px(self)
        while px > MIN_TEXT_PX and self.needed_height(px) > room:
            px -= 1
        return px

    def paintEvent(self, event) -> None:
        px = self.text_px()
        if px == styled_px(self):
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.setFont(self._font_at(px))
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), self._flags(), self.text())
        painter.end()


class EmojiIcon(QLabel):
    """The big emoji of a screen. Its size comes from the style sheet (QLabel#icon); when the layout
    gives it less height than that (a small screen, a long title), it draws a smaller glyph instead
    of letting QLabel clip the top and bottom off."""

    MIN_SCALE = 0.5  # the layout is asked not to go below half the styled size (80 px of 160)

    def __init__(self, text: str = ""):
        super().__init__(text)
        self.setObjectName("icon")
        self.setAccessibleName("icon")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def glyph_px(self) -> int:
        """Pixel size the emoji is drawn at: the styled size, or less if the widget is shorter."""
        styled = styled_px(self)
        line_per_px = QFontMetrics(self.font()).height() / styled
        return max(1, min(styled, int(self.height() / line_per_px)))

    def minimumSizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(int(hint.width() * self.MIN_SCALE), int(hint.height() * self.MIN_SCALE))

    def paintEvent(self, event) -> None:
        font = QFont(self.font())
        font.setPixelSize(self.glyph_px())
        painter = QPainter(self)
        painter.setFont(font)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment()), self.text())
        painter.end()


def button(text: str, accessible: str, parent: QWidget | None = None) -> QPushButton:
    b = QPushButton(text, parent)
    b.setAccessibleName(accessible)
    # Buttons are for touch; keys are handled by the window, one meaning per key on every
    # screen. A focused button would turn Space or Enter into "press this button" (it used to
    # make Space cancel a session, with the focus on Cancel).
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return b


def emoji_icon(emoji: str, px: int, gap: int = 0) -> QIcon:
    """An emoji on a dark rounded tile. Most emoji are yellow, the colour of the buttons: drawn
    straight onto a button they vanish (the raised hands measured 1.33:1); on the tile they reach
    >= 3:1 (WCAG 1.4.11), and the tile itself stands out from the yellow or white button.
    `gap`: transparent room right of the tile, so the words do not touch it (Qt leaves ~4 px)."""
    pix = QPixmap(px + gap, px)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(COLOURS["background"]))
    painter.drawRoundedRect(0, 0, px, px, px * 0.18, px * 0.18)
    font = QFont()
    font.setPixelSize(int(px * 0.7))
    painter.setFont(font)
    painter.setPen(QColor(COLOURS["text"]))  # for glyphs without colour of their own
    painter.drawText(pix.rect(), int(Qt.AlignmentFlag.AlignCenter), emoji)
    painter.end()
    return QIcon(pix)


def set_emoji(b: QPushButton, emoji: str, px: int = BAR_ICON_PX, gap: int = 0) -> None:
    b.setIcon(emoji_icon(emoji, px, gap))
    b.setIconSize(QSize(px + gap, px))
    b.setProperty("icon_text", emoji)


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
        self.setPixmap(
            QPixmap.fromImage(image).scaled(
                self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
            )
        )

    def clear_frame(self) -> None:
        self.clear()


class AttractScreen(QWidget):
    start = Signal()

    def __init__(self):
        super().__init__()
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        self.icon = EmojiIcon("👋")
        self.title = label(name="title")
        self.detail = label(name="detail")
        self.start_button = button("", "start")
        self.start_button.clicked.connect(self.start)
        for w in (self.icon, self.title, self.detail):
            lay.addWidget(w)
        lay.addWidget(self.start_button, alignment=Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(1)
        self._lockout_minutes: int | None = None
        self.retranslate()

    def retranslate(self) -> None:
        self.show_lockout(self._lockout_minutes)
        self.start_button.setText("▶ " + tr(S.START))
        self.start_button.setAccessibleName(tr(S.START))

    def show_lockout(self, minutes: int | None) -> None:
        """During a lockout the screen says how long to wait instead of inviting a start."""
        self._lockout_minutes = minutes
        locked = minutes is not None
        self.icon.setText("⏳" if locked else "👋")
        self.title.setText(tr(S.LOCKED_TITLE) if locked else tr(S.ATTRACT_TITLE))
        self.detail.setText(tr(S.LOCKED_ATTRACT).format(minutes=minutes) if locked else tr(S.ATTRACT_DETAIL))
        self.start_button.setVisible(not locked)


class WelcomeScreen(QWidget):
    start = Signal()
    profile = Signal(str)

    def __init__(self):
        super().__init__()
        lay = self._lay = QVBoxLayout(self)
        self.title = label(name="title")
        self.detail = label(name="detail")
        lay.addWidget(self.title)
        lay.addWidget(self.detail)
        self.grid = QGridLayout()
        self.grid.setColumnStretch(0, 1)
        self.grid.setColumnStretch(1, 1)
        self._placement = None
        self.profile_buttons: dict[str, QPushButton] = {}
        self.profile_keys: dict[str, str] = {}  # "1".."5" -> profile, for the shown profiles
        for name in PROFILES:
            b = button("", name)
            b.setCheckable(True)
            set_emoji(b, PROFILE_ICONS.get(name, ""), PROFILE_ICON_PX, gap=PROFILE_ICON_PX // 4)
            b.clicked.connect(lambda _=False, n=name: self.profile.emit(n))
            # the width of the longest label must not set the window's minimum width (German labels
            # are ~900 px each): _regrid picks one or two columns for the width there is
            b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.profile_buttons[name] = b
        self.start_button = button("", "start")
        self.start_button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.start_button.clicked.connect(self.start)
        lay.addLayout(self.grid)
        self.retranslate()
        self.select("standard")

    def set_available(self, names: list[str]) -> None:
        for name, b in self.profile_buttons.items():
            b.setVisible(name in names)
        shown = [n for n in self.profile_buttons if n in names]
        self.profile_keys = {str(i + 1): n for i, n in enumerate(shown)}
        self._regrid()

    def key_of(self, name: str) -> str:
        return next((k for k, n in self.profile_keys.items() if n == name), "")

    def label_of(self, name: str) -> str:
        """The button's words: its key, then the choice ("2  I can't use my hands")."""
        key = self.key_of(name)
        return f"{key}  {tr(S.PROFILE_LABELS[name])}" if key else tr(S.PROFILE_LABELS[name])

    def _regrid(self) -> None:
        """Two columns of profile buttons when every label fits in half the width, if need be on two
        lines; else one column. One column of five buttons does not fit a 1280x800 screen."""
        margins = self._lay.contentsMargins()
        room = self.contentsRect().width() - margins.left() - margins.right()
        half = (room - self.grid.horizontalSpacing()) // 2
        texts = {name: self.label_of(name) for name in self.profile_buttons}
        # in two columns, only the labels too wide for half the width go on two lines
        too_wide = {n for n, b in self.profile_buttons.items() if self._text_width(b, texts[n]) > half}
        two_col = {n: _two_lines(t) if n in too_wide else t for n, t in texts.items()}
        columns = 2 if all(self._text_width(self.profile_buttons[n], two_col[n]) <= half for n in too_wide) else 1
        for n, b in self.profile_buttons.items():
            b.setText(two_col[n] if columns == 2 else texts[n])
        shown = [b for b in self.profile_buttons.values() if not b.isHidden()]
        placement = (columns, tuple(id(b) for b in shown))
        if placement == self._placement:
            return
        self._placement = placement
        for b in [*self.profile_buttons.values(), self.start_button]:
            self.grid.removeWidget(b)
        for i, b in enumerate(shown):
            self.grid.addWidget(b, i // columns, i % columns, 1, 3 - columns)  # one column: full width
        # Start takes the free cell beside the last profile (a whole row is one row too many at
        # 1280x800 in German), or a full row of its own
        row, col = divmod(len(shown), columns)
        self.grid.addWidget(self.start_button, row, col, 1, 2 - col)

    @staticmethod
    def _text_width(b: QPushButton, text: str) -> int:
        old = b.text()
        b.setText(text)
        width = b.sizeHint().width()
        b.setText(old)
        return width

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._regrid()

    def select(self, name: str) -> None:
        for n, b in self.profile_buttons.items():
            b.setChecked(n == name)

    def retranslate(self) -> None:
        self.title.setText(tr(S.WELCOME_TITLE))
        self.detail.setText(tr(S.WELCOME_DETAIL))
        for name, b in self.profile_buttons.items():
            b.setAccessibleName(tr(S.PROFILE_LABELS[name]))  # _regrid sets the (maybe wrapped) text
        self.start_button.setText("▶ " + tr(S.START))
        self.start_button.setAccessibleName(tr(S.START))
        self._regrid()


def _two_lines(text: str) -> str:
    """Break a label at the space nearest its middle (QPushButton draws a newline as a new line)."""
    spaces = [i for i, ch in enumerate(text) if ch == " "][2:]  # never right after the key number
    if not spaces:
        return text
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return text[:cut] + "\n" + text[cut + 1 :]


class SessionScreen(QWidget):
    """Level 1 and level 2: the mirror view beside the current instruction, countdown and progress."""

    more_time = Signal()
    cancel = Signal()
    go_on = Signal()  # "No, go on" while the cancel question is open

    def __init__(self):
        super().__init__()
        lay = QHBoxLayout(self)
        self.camera = CameraView()
        # The instructions get more than half the width: a wide side column keeps titles on one or
        # two lines and both buttons side by side, and at 1280x800 it is under 600 px tall.
        lay.addWidget(self.camera, 4)
        side = QVBoxLayout()
        side.setSpacing(4)
        lay.addLayout(side, 5)
        self.step = label(name="status")
        self.icon = EmojiIcon()
        self.title = label(name="title")
        self.detail = label(name="detail")
        self.countdown = label(name="countdown")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)  # the count is in its own label, readable at any fill level
        self.progress.setAccessibleName("progress")
        self.progress_text = label(name="status")
        self.detected = label("", "detected")
        self.more_button = button("", "more time")
        self.more_button.clicked.connect(lambda: (self.go_on if self._question else self.more_time).emit())
        self._question = False
        self.cancel_button = button("", "cancel")
        self.cancel_button.clicked.connect(self.cancel)
        for w in (self.step, self.icon, self.title, self.detail, self.progress):
            side.addWidget(w)
        # time left, the count and the "detected" tick share one row, and so do the two buttons
        status_row = QHBoxLayout()
        for w in (self.countdown, self.progress_text, self.detected):
            w.setWordWrap(False)  # short texts; wrapping them would double the row's height
            status_row.addWidget(w, 1)
        side.addLayout(status_row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.more_button)
        buttons.addWidget(self.cancel_button)
        side.addLayout(buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.more_button.setText("⏱ " + tr(S.MORE_TIME))
        self.more_button.setAccessibleName(tr(S.MORE_TIME))
        self.cancel_button.setText("✖ " + tr(S.CANCEL))
        self.cancel_button.setAccessibleName(tr(S.CANCEL))

    def show_view(
        self,
        v: SessionView,
        notice: tuple[str, str, str] | None = None,
        paused: bool = False,
        after_failure: bool = False,
        question: bool = False,
    ) -> None:
        """`notice` (icon, title, text) takes the instruction's place: help, a capture problem,
        a question. `paused`: the countdown is stopped. `after_failure`: the pause between two
        challenges follows a failed one (it must not say "Well done")."""
        # Level 1 has no step counter and no "detected" tick: hide them rather than leave empty
        # rows, which on a 720 px side column squeezed the icon below its glyph height.
        self.step.setVisible(v.state != State.LIVENESS)
        self.detected.setVisible(v.state != State.LIVENESS)
        if v.state == State.LIVENESS:
            self.step.setText("")
            self.icon.setText("🙂")
            self.title.setText(tr(S.LIVENESS_TITLE))
            self.detail.setText(tr(S.LIVENESS_DETAIL))
            self.detected.setText("")
            self.more_button.setVisible(False)
        elif v.challenge is not None:
            c = v.challenge
            self.step.setText(
                tr(S.CHALLENGE_OF).format(index=v.index, total=v.total)
                + "   "
                + tr(S.ATTEMPTS_LEFT).format(n=v.attempts_left)
            )
            self.icon.setText(c.icon)
            self.icon.setAccessibleName(tr(c.text))
            self.title.setText(tr(c.text))
            gap_text = tr(S.NOT_THIS_TIME if after_failure else S.WELL_DONE)
            self.detail.setText(gap_text if v.in_gap else tr(c.instruction))
            self.detected.setText("✔ " + tr(S.DETECTED) if v.detected else "")
            self.more_button.setVisible(v.extensions_left > 0 and not v.in_gap)
        self.progress.setRange(0, max(1, v.needed))
        self.progress.setValue(min(v.streak, v.needed))
        self.progress_text.setText(f"{min(v.streak, v.needed)} / {v.needed}" if v.needed else "")
        if paused:
            self.countdown.setText("⏸ " + tr(S.PAUSED))
        else:
            self.countdown.setText(
                "" if v.time_left is None else "⏳ " + tr(S.SECONDS_LEFT).format(n=int(v.time_left + 0.999))
            )
        if notice is not None:
            icon, title, text = notice
            self.icon.setText(icon)
            self.icon.setAccessibleName(title)
            self.title.setText(title)
            self.detail.setText(text)
            self.detected.setText("")
            self.more_button.setVisible(question)
        self._show_question(question)

    def _show_question(self, question: bool) -> None:
        """While "Cancel the session?" is open, the two buttons answer it: touching Cancel again
        confirms, like pressing C again."""
        if question == self._question:
            return
        self._question = question
        if question:
            self.more_button.setText(tr(S.NO_GO_ON))  # no symbol: German needs the room
            self.more_button.setAccessibleName(tr(S.NO_GO_ON))
            self.cancel_button.setText(tr(S.YES_CANCEL))
            self.cancel_button.setAccessibleName(tr(S.YES_CANCEL))
        else:
            self.retranslate()


def headline(lay: QVBoxLayout, title_name: str) -> tuple[EmojiIcon, QLabel, QLabel]:
    """The full-width screens' top: space, a large icon, a title (styled by `title_name`) and the
    detail under it."""
    lay.addStretch(1)
    icon, title, detail = EmojiIcon(), label(name=title_name), label(name="detail")
    for w in (icon, title, detail):
        lay.addWidget(w)
    return icon, title, detail


class QuestionScreen(QWidget):
    """A yes/no question (cancel? voice off?) with its two answers as buttons, shown in place of
    the screen it was asked on: whoever can only touch must be able to answer it, like those who
    press C, Y or N or say "yes". The choices under it are not on screen, so none is made
    while the question is open."""

    yes = Signal()
    no = Signal()

    def __init__(self):
        super().__init__()
        lay = QVBoxLayout(self)
        self.icon, self.title, self.detail = headline(lay, "title")
        # "No" first, as on the session screen's question: the same answer in the same place
        buttons = QHBoxLayout()
        self.no_button = button("", "no")
        self.no_button.clicked.connect(self.no)
        self.yes_button = button("", "yes")
        self.yes_button.clicked.connect(self.yes)
        buttons.addWidget(self.no_button)
        buttons.addWidget(self.yes_button)
        lay.addLayout(buttons)
        lay.addStretch(1)

    def show_question(self, icon: str, title: str, text: str, yes: str, no: str) -> None:
        self.icon.setText(icon)
        self.icon.setAccessibleName(title)
        self.title.setText(title)
        self.detail.setText(text)
        # no symbol on the answers, as on the session screen: the words are the answer
        self.yes_button.setText(yes)
        self.yes_button.setAccessibleName(yes)
        self.no_button.setText(no)
        self.no_button.setAccessibleName(no)


class ResultScreen(QWidget):
    def __init__(self):
        super().__init__()
        lay = QVBoxLayout(self)
        self.icon, self.title, self.detail = headline(lay, "result_pass")
        lay.addStretch(1)

    def show_result(self, passed: bool, detail: str | None = None) -> None:
        # Only pass or fail reaches the user: never a score or which check failed.
        self.icon.setText("✅" if passed else "❌")
        self.title.setObjectName("result_pass" if passed else "result_fail")
        self.title.setText(tr(S.PASSED_TITLE if passed else S.DENIED_TITLE))
        self.detail.setText(detail or tr(S.PASSED_DETAIL if passed else S.DENIED_DETAIL))
        self.title.style().unpolish(self.title)
        self.title.style().polish(self.title)


class MessageScreen(QWidget):
    """Camera missing, model missing, locked: an icon, a title and what to do."""

    def __init__(self):
        super().__init__()
        lay = QVBoxLayout(self)
        self.icon, self.title, self.detail = headline(lay, "title")
        lay.addStretch(1)

    def show_message(self, icon: str, title: str, detail: str) -> None:
        self.icon.setText(icon)
        self.title.setText(title)
        self.detail.setText(detail)
