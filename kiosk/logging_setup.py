"""Logging that cannot flood: identical lines are collapsed ("last message repeated N times"),
a global budget caps lines per minute, Qt's own warnings go through the same filter, and an
optional log file (KIOSK_LOG_FILE) rotates with a size cap (one that cannot be opened is said on
stderr and left out: the kiosk runs on). Under systemd the log goes to
journald through stderr, where the filter is the guard (journald caps its own disk use).
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

_DIGITS = re.compile(r"\d+")

# Log file cap when KIOSK_LOG_FILE is set: 4 files of 5 MB at most.
LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILE_BACKUPS = 3


class _Key:
    __slots__ = ("shown", "suppressed", "window_start")

    def __init__(self, now: float):
        self.window_start = now
        self.shown = 0
        self.suppressed = 0


class RepeatFilter(logging.Filter):
    """Lets the first `burst` lines of one kind through per `window_s`, drops the rest and says so
    with the next line of that kind after the window: "last message repeated N times". Lines of
    one kind have the same logger, level and text with numbers ignored (so `Invalid socket 36` and
    `Invalid socket 37` are one kind). On top, at most `budget` lines per window in all."""

    MAX_KINDS = 1024

    def __init__(
        self, burst: int = 5, window_s: float = 60.0, budget: int = 600, clock: Callable[[], float] = time.monotonic
    ):
        super().__init__()
        self.burst, self.window_s, self.budget = burst, window_s, budget
        self._clock = clock
        self._kinds: OrderedDict[tuple, _Key] = OrderedDict()
        self._lock = threading.Lock()
        self._budget_start = clock()
        self._budget_used = 0
        self._budget_dropped = 0
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        # One decision per record, however many handlers (stderr, file) share this filter.
        decided = getattr(record, "_repeat_filter", None)
        if decided is not None:
            return bool(decided)
        keep = self._decide(record)
        vars(record)["_repeat_filter"] = keep
        return keep

    def _decide(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string must not take logging down
            text = str(record.msg)
        key = (record.name, record.levelno, _DIGITS.sub("#", text))
        now = self._clock()
        with self._lock:
            notes = []
            if now - self._budget_start >= self.window_s:
                if self._budget_dropped:
                    notes.append(
                        f"{self._budget_dropped} log lines dropped (over {self.budget} lines in {self.window_s:.0f} s)"
                    )
                self._budget_start, self._budget_used, self._budget_dropped = now, 0, 0
            k = self._kinds.get(key)
            if k is None:
                k = self._kinds[key] = _Key(now)
                if len(self._kinds) > self.MAX_KINDS:
                    self._kinds.popitem(last=False)
            else:
                self._kinds.move_to_end(key)
            if now - k.window_start >= self.window_s:
                if k.suppressed:
                    notes.append(f"last message repeated {k.suppressed} times")
                k.window_start, k.shown, k.suppressed = now, 0, 0
            if k.shown >= self.burst:
                k.suppressed += 1
                return self._drop()
            if self._budget_used >= self.budget:
                self._budget_dropped += 1
                return self._drop()
            k.shown += 1
            self._budget_used += 1
        if notes:
            # Said before the line itself, so the count sits next to the message it is about.
            record.msg = f"[{'; '.join(notes)}] {text}"
            record.args = None
        return True

    def _drop(self) -> bool:
        from . import metrics

        self.suppressed += 1
        metrics.log_suppressed.inc()
        return False


class _LogFile(logging.handlers.RotatingFileHandler):
    """The KIOSK_LOG_FILE handler. A line it cannot write (disk full, file system gone read-only)
    is said once on stderr, not with logging's traceback for every line (a dozen journal lines
    per log line for as long as the disk stays full); every line is still tried, and the first
    one written again says how many the file misses."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.missed = 0  # lines not written since the file failed

    def emit(self, record: logging.LogRecord) -> None:
        missed = self.missed
        super().emit(record)  # calls handleError on failure
        if missed and self.missed == missed:
            self.missed = 0
            _say(f"log file {self.baseFilename} written again; {missed} line(s) before this one are missing from it")

    def handleError(self, record: logging.LogRecord) -> None:
        if not self.missed:
            exc = sys.exc_info()[1]
            reason = getattr(exc, "strerror", None) or exc
            _say(f"cannot write the log file {self.baseFilename} ({reason}); its lines go to stderr only until it can")
        self.missed += 1


def _say(text: str) -> None:
    """One line on stderr, outside logging (a note about a failing handler must not go through it)."""
    try:
        sys.stderr.write(f"kiosk: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # no stderr left: nothing else to tell
        pass


def configure_logging(
    level: str | int = "WARNING", log_file: str | None = None, repeat_filter: RepeatFilter | None = None
) -> RepeatFilter:
    """The root handler(s) with the repeat filter on each (handler filters see every record,
    including those of child loggers and of Qt)."""
    rf = repeat_filter or RepeatFilter()
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    file_problem = ""
    if log_file:
        try:
            handlers.append(_LogFile(log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"))
        except OSError as exc:  # a missing or read-only folder: the kiosk still serves, logging to stderr
            file_problem = exc.strerror or str(exc)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for h in handlers:
        h.setFormatter(fmt)
        h.addFilter(rf)
        root.addHandler(h)
    root.setLevel(level)
    if file_problem:
        logging.getLogger(__name__).error(
            "cannot open the log file %s (KIOSK_LOG_FILE): %s; logging to stderr (the journal) only",
            log_file,
            file_problem,
        )
    return rf


_QT_LEVELS = {
    "QtDebugMsg": logging.DEBUG,
    "QtInfoMsg": logging.INFO,
    "QtWarningMsg": logging.WARNING,
    "QtCriticalMsg": logging.ERROR,
    "QtFatalMsg": logging.CRITICAL,
}


def install_qt_message_handler() -> None:
    """Qt's warnings (printed straight to stderr by default, from any thread, without limit) go
    through Python logging and so through the repeat filter."""
    from PySide6.QtCore import qInstallMessageHandler

    qt_log = logging.getLogger("qt")

    def handler(mode, context, message: str) -> None:
        qt_log.log(_QT_LEVELS.get(getattr(mode, "name", str(mode)), logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)


AV_LOG_ERROR = 16


def quiet_ffmpeg() -> bool:
    """Where Qt Multimedia has its FFmpeg backend (a pip install of PySide6), FFmpeg's default logger
    writes a stream dump ("Input #0, wav, from ...", 3-4 lines) to stderr for every sound played,
    past Qt's message handler: months of prompts in the journal. Only FFmpeg's errors are kept. The
    library is the one Qt loads (same soname, so the dynamic linker shares it). False if it is not
    there: the bundle leaves the FFmpeg backend out (the kiosk's QAudioSink/QAudioSource need none)."""
    import ctypes
    from pathlib import Path

    import PySide6

    libs = sorted((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libavutil.so.*"), key=lambda p: len(p.name))
    if not libs:
        return False
    try:
        ctypes.CDLL(str(libs[0])).av_log_set_level(AV_LOG_ERROR)
    except (OSError, AttributeError):
        return False
    return True
