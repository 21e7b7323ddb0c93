"""The full-screen window: a stack of screens above a bar with voice, listen and help buttons
and the caption of whatever was last spoken. Key presses become signals; nothing else happens here."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLayout,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..commands import Command
from . import strings as S
from .screens import (
    AttractScreen,
    MessageScreen,
    QuestionScreen,
    ResultScreen,
    SessionScreen,
    WelcomeScreen,
    button,
    fit_touch,
    label,
    set_emoji,
)
from .strings import tr

MAX_PIN_DIGITS = 32

# One meaning per key on every screen (README "Keys"). `c` asks before it cancels; `c` again or
# `y` confirms, `n` declines.
KEY_COMMANDS = {
    Qt.Key.Key_S: Command.START,
    Qt.Key.Key_V: Command.VOICE,
    Qt.Key.Key_L: Command.LISTEN,
    Qt.Key.Key_M: Command.MORE_TIME,
    Qt.Key.Key_R: Command.REPEAT,
    Qt.Key.Key_C: Command.CANCEL,
    Qt.Key.Key_H: Command.HELP,
    Qt.Key.Key_F1: Command.HELP,
    Qt.Key.Key_Y: Command.CONFIRM,
    Qt.Key.Key_N: Command.DENY,
}
# Space and Enter start, and only on the welcome screen, where the person has had the choices;
# anywhere else they do nothing (never "press the focused button").
START_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter)


class KioskWindow(QMainWindow):
    command = Signal(str)  # a Command's value (kiosk/commands.py)
    exit_requested = Signal()  # q / Esc, or the admin PIN; the controller decides
    admin_pin = Signal(str)

    def __init__(self):
        super().__init__()
        self.setWindowTitle("Kiosk")
        self.allow_close = False
        root = QWidget()
        outer = QVBoxLayout(root)
        self.stack = QStackedWidget()
        self.attract = AttractScreen()
        self.welcome = WelcomeScreen()
        self.session = SessionScreen()
        self.result = ResultScreen()
        self.message = MessageScreen()
        self.question = QuestionScreen()
        for w in (self.attract, self.welcome, self.session, self.result, self.message, self.question):
            self.stack.addWidget(w)
        outer.addWidget(self.stack, 1)

        bar = QHBoxLayout()
        self.voice_button = button("", "voice")
        self.voice_button.setCheckable(True)
        self.listen_button = button("", "listen")
        self.help_button = button("", "help")
        self.voice_button.clicked.connect(lambda: self.command.emit(Command.VOICE))
        self.listen_button.clicked.connect(lambda: self.command.emit(Command.LISTEN))
        self.help_button.clicked.connect(lambda: self.command.emit(Command.HELP))
        for b in (self.voice_button, self.listen_button, self.help_button):
            bar.addWidget(b)
        outer.addLayout(bar)
        self.caption = label("", "caption")
        self.caption.setAccessibleName("caption")
        outer.addWidget(self.caption)
        self._caption_page = 0
        self._caption_timer = QTimer(self)
        self._caption_timer.setSingleShot(True)
        self._caption_timer.timeout.connect(self._next_caption_page)
        self.setCentralWidget(root)
        # The window is the screen: never let the layout's height-for-width (the stack asks every
        # page, the caption wraps) grow it past the screen. tests/test_ui.py checks that at
        # 1280x800 nothing is cut instead.
        self.layout().setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)

        self.attract.start_button.clicked.connect(lambda: self.command.emit(Command.START))
        self.welcome.start.connect(lambda: self.command.emit(Command.START))
        self.session.more_time.connect(lambda: self.command.emit(Command.MORE_TIME))
        self.session.cancel.connect(lambda: self.command.emit(Command.CANCEL))
        self.session.go_on.connect(lambda: self.command.emit(Command.DENY))
        self.question.yes.connect(lambda: self.command.emit(Command.CONFIRM))
        self.question.no.connect(lambda: self.command.emit(Command.DENY))
        self._pin_buffer: str | None = None
        self.set_voice(True)
        self.set_listening(False)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        for b in self.findChildren(type(self.voice_button)):
            fit_touch(b)

    # ----------------------------------------------------------------- display
    def retranslate(self) -> None:
        for screen in (self.attract, self.welcome, self.session):
            screen.retranslate()
        self.help_button.setText(" " + tr(S.HELP))
        self.help_button.setAccessibleName(tr(S.HELP))
        self.set_voice(self.voice_button.isChecked())
        self.set_listening(False)

    def set_voice(self, on: bool) -> None:
        self.voice_button.setChecked(on)
        text = tr(S.VOICE_ON if on else S.VOICE_OFF)
        self.voice_button.setText(" " + text)
        set_emoji(self.voice_button, "🔊" if on else "🔇")
        self.voice_button.setAccessibleName(text)
        self.help_button.setText(" " + tr(S.HELP))
        set_emoji(self.help_button, "❓")

    def set_listening(self, on: bool) -> None:
        text = tr(S.LISTENING if on else S.LISTEN)
        self.listen_button.setText(" " + text)
        set_emoji(self.listen_button, "🎤")
        self.listen_button.setAccessibleName(text)

    CAPTION_LINES = 2
    # Pages of a long caption turn at a reading pace, a little slower than the voice (~16 characters
    # a second at 160 words a minute), so a person who cannot hear it can read all of it.
    CAPTION_CHARS_PER_S = 12.0
    CAPTION_MIN_PAGE_S = 3.0

    def show_caption(self, text: str) -> None:
        """The caption bar holds two lines: the screen above must keep its room. A longer prompt
        (the spoken welcome, help) is shown in pages of two lines that turn at a reading pace, the
        last page staying; its accessible description keeps the whole text."""
        self.caption_text = text
        self.caption.setAccessibleDescription(text)
        self._caption_page = 0
        self._fit_caption()

    def _caption_room(self) -> int:
        """The height of the bar's lines of text, in pixels."""
        return self.caption.fontMetrics().lineSpacing() * self.CAPTION_LINES

    def caption_pages(self) -> list[str]:
        """The caption split, at spaces, into pieces that each fit the bar's two lines."""
        text = getattr(self, "caption_text", "")
        metrics = self.caption.fontMetrics()
        margins = self.caption.contentsMargins()
        width = max(100, self.caption.width() - margins.left() - margins.right() - 2 * 10)
        room = self._caption_room()

        def fits(t: str) -> bool:
            return metrics.boundingRect(0, 0, width, 10 * room, int(Qt.TextFlag.TextWordWrap), t).height() <= room

        pages: list[str] = []
        words: list[str] = []
        for word in text.split(" "):
            # room for the " …" that says another page follows
            if words and not fits(" ".join([*words, word]) + " …"):
                pages.append(" ".join(words))
                words = []
            words.append(word)
        if words or not pages:
            pages.append(" ".join(words))
        return pages

    def _fit_caption(self) -> None:
        pages = self.caption_pages()
        self._caption_page = min(self._caption_page, len(pages) - 1)
        page = pages[self._caption_page]
        more = self._caption_page < len(pages) - 1
        self.caption.setText(page + " …" if more else page)
        margins = self.caption.contentsMargins()
        self.caption.setFixedHeight(self._caption_room() + margins.top() + margins.bottom() + 2 * 10 + 3)
        if more:
            seconds = max(self.CAPTION_MIN_PAGE_S, len(page) / self.CAPTION_CHARS_PER_S)
            self._caption_timer.start(int(seconds * 1000))
        else:
            self._caption_timer.stop()

    def _next_caption_page(self) -> None:
        self._caption_page += 1
        self._fit_caption()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_caption()

    def show_screen(self, widget: QWidget) -> None:
        if self.stack.currentWidget() is not widget:
            self.stack.setCurrentWidget(widget)

    # ------------------------------------------------------------------- input
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat():
            # A key held a little long (a tremor, a slow release) is one press: its repeats would
            # act again, and S or C pressed twice skips the choice or answers its own question.
            return
        key = event.key()
        mods = event.modifiers()
        if self._pin_buffer is not None:  # typing the admin PIN
            if Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
                if len(self._pin_buffer) < MAX_PIN_DIGITS:
                    self._pin_buffer += chr(key)
                self._show_pin_entry()
                return
            if key == Qt.Key.Key_Backspace:
                self._pin_buffer = self._pin_buffer[:-1]
                self._show_pin_entry()
                return
            pin, self._pin_buffer = self._pin_buffer, None
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.admin_pin.emit(pin)  # the controller answers with show_pin_feedback()
            else:
                self.show_caption("")
            return
        if (
            key == Qt.Key.Key_A
            and mods & Qt.KeyboardModifier.ControlModifier
            and mods & Qt.KeyboardModifier.AltModifier
        ):
            self._pin_buffer = ""
            self._show_pin_entry()
            return
        if key in (Qt.Key.Key_Q, Qt.Key.Key_Escape):
            self.exit_requested.emit()
            return
        on_welcome = self.stack.currentWidget() is self.welcome
        if key in START_KEYS:
            if on_welcome:
                self.command.emit(Command.START)
            return
        if on_welcome and event.text() in self.welcome.profile_keys:
            self.welcome.profile.emit(self.welcome.profile_keys[event.text()])
            return
        try:
            command = KEY_COMMANDS.get(Qt.Key(key))
        except ValueError:  # a key Qt has no name for
            command = None
        if command is not None:
            self.command.emit(command)
            return
        super().keyPressEvent(event)

    def _show_pin_entry(self) -> None:
        # One dot per digit typed, never the digits: the screen may be filmed.
        self.show_caption(tr(S.ADMIN_PIN_ENTRY).format(dots="●" * len(self._pin_buffer or "")))

    def show_pin_feedback(self, tries_left: int = 0, locked_s: float = 0.0) -> None:
        """After a refused PIN: how many tries are left, or for how many minutes the exit is locked."""
        if locked_s > 0:
            self.show_caption(tr(S.ADMIN_PIN_LOCKED).format(minutes=max(1, math.ceil(locked_s / 60))))
        else:
            self.show_caption(tr(S.ADMIN_PIN_WRONG).format(n=tries_left))

    def closeEvent(self, event: QCloseEvent) -> None:
        # A user must not be able to leave the kiosk (Alt+F4, window manager close).
        if self.allow_close:
            event.accept()
        else:
            event.ignore()
