"""Entry point frozen by PyInstaller (packaging/kiosk.spec): `kiosk [args]` == `python -m kiosk [args]`.

`dist/kiosk/kiosk self-test` and `dist/kiosk/kiosk --self-test` both reach kiosk.cli's self-test.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen app must not re-run main() in child processes
    from kiosk.cli import main

    sys.exit(main(sys.argv[1:]))
