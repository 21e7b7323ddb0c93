"""Writes kiosk_<lang>.ts from <lang>.toml and compiles it to kiosk_<lang>.qm with pyside6-lrelease.

Fails (exit 1) when a user-facing string has no translation, naming it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import tomllib

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from kiosk.ui.strings import CONTEXT, all_source_strings  # noqa: E402


def write_ts(lang: str) -> tuple[Path, list[str]]:
    table = tomllib.loads((HERE / f"{lang}.toml").read_text(encoding="utf-8"))["strings"]
    missing = []
    rows = []
    for source in all_source_strings():
        text = table.get(source)
        if text is None:
            missing.append(source)
            rows.append(
                f"    <message>\n      <source>{escape(source)}</source>\n"
                f'      <translation type="unfinished"></translation>\n    </message>'
            )
        else:
            rows.append(
                f"    <message>\n      <source>{escape(source)}</source>\n"
                f"      <translation>{escape(text)}</translation>\n    </message>"
            )
    ts = HERE / f"kiosk_{lang}.ts"
    ts.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n'
        f'<TS version="2.1" language="{lang}">\n  <context>\n    <name>{CONTEXT}</name>\n'
        + "\n".join(rows)
        + "\n  </context>\n</TS>\n",
        encoding="utf-8",
    )
    return ts, missing


def lrelease() -> str:
    exe = shutil.which("pyside6-lrelease") or str(Path(sys.executable).with_name("pyside6-lrelease"))
    return exe


def main() -> int:
    status = 0
    for toml in sorted(HERE.glob("*.toml")):
        lang = toml.stem
        ts, missing = write_ts(lang)
        for m in missing:
            print(f"{lang}: no translation for {m!r}", file=sys.stderr)
            status = 1
        subprocess.run([lrelease(), "-silent", str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True)
        print(f"{lang}: {ts.name} -> {ts.with_suffix('.qm').name}")
    return status


if __name__ == "__main__":
    sys.exit(main())
