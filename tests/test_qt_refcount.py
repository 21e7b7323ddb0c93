"""Guards against the PySide6 6.12.0 defect where every emit of a Python-defined signal to a
Python slot dropped a reference to True: the kiosk emits 25 signals a second and crashed
('bool_dealloc') within minutes. Pinned to 6.11.3; this fails if a broken release comes back."""

import gc
import sys

from PySide6.QtCore import QObject, Signal

from kiosk.ui.app import qt_app


class Emitter(QObject):
    flag = Signal(bool)
    value = Signal(object)


def test_emitting_python_signals_keeps_refcounts():
    qt_app()
    e = Emitter()
    seen = []
    e.flag.connect(lambda v: seen.append(v))
    e.value.connect(lambda v: seen.append(v))
    gc.collect()
    before = sys.getrefcount(True)
    for _ in range(200):
        e.flag.emit(True)
        e.value.emit("x")
    seen.clear()
    gc.collect()
    assert sys.getrefcount(True) >= before - 5, "PySide6 leaks references on signal emission"
