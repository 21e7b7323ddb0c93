#!/usr/bin/env bash
# Build the one-folder bundle: dist/kiosk/kiosk (+ dist/kiosk/_internal/).
#   bash packaging/build.sh            # then: QT_QPA_PLATFORM=offscreen dist/kiosk/kiosk self-test
# Env: PYTHON (default .venv/bin/python, else python3) - the venv whose packages are bundled;
#      KIOSK_ENTRY / KIOSK_NAME - see packaging/kiosk.spec; DIST_DIR / WORK_DIR - output folders.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
DIST_DIR="${DIST_DIR:-$ROOT/dist}"
WORK_DIR="${WORK_DIR:-$ROOT/build/pyinstaller}"

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
  echo "build.sh: PyInstaller is not installed for $PYTHON (pip install 'pyinstaller>=6.10')" >&2
  exit 2
fi

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$DIST_DIR" --workpath "$WORK_DIR" packaging/kiosk.spec
name="${KIOSK_NAME:-kiosk}"
# Debug symbols of the three largest libraries that carry them (25 MB); other wheels ship theirs
# stripped already, and their patchelf-ed libraries are better left alone.
for lib in "$DIST_DIR/$name/_internal"/libpython3*.so.* \
           "$DIST_DIR/$name/_internal"/mediapipe/python/_framework_bindings*.so \
           "$DIST_DIR/$name/_internal"/ai_edge_litert/libpywrap_litert_common.so; do
  [[ -f "$lib" ]] && strip --strip-unneeded "$lib"
done
echo "build.sh: built $DIST_DIR/$name in $(( $(date +%s) - start )) s ($(du -sh "$DIST_DIR/$name" | cut -f1))"
