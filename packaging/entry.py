"""Entry point frozen by PyInstaller (packaging/kiosk.spec): `kiosk [args]` == `python -m kiosk [args]`.

`dist/kiosk/kiosk self-test` and `dist/kiosk/kiosk --self-test` both reach kiosk.cli's self-test.
"""

import multiprocessing
import sys
import types


def _stand_in_for_plotting() -> None:
    """`import mediapipe` imports mp.solutions.drawing_utils, which imports matplotlib.pyplot at
    import time, only to draw landmarks in notebooks. The kiosk never draws with it, so the bundle
    leaves matplotlib (with PIL, kiwisolver, fontTools) out and registers an empty stand-in; any
    use of it would raise AttributeError, never pass silently."""
    try:
        import matplotlib.pyplot  # noqa: F401  (present when run from a venv)
    except ImportError:
        matplotlib = types.ModuleType("matplotlib")
        pyplot = types.ModuleType("matplotlib.pyplot")
        matplotlib.pyplot = pyplot  # type: ignore[attr-defined]
        sys.modules["matplotlib"] = matplotlib
        sys.modules["matplotlib.pyplot"] = pyplot


if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen app must not re-run main() in child processes
    _stand_in_for_plotting()
    from kiosk.cli import main

    sys.exit(main(sys.argv[1:]))
