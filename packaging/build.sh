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

# The bundle's OpenCV is the headless wheel of the version the venv has. mediapipe 0.10.21 requires
# opencv-contrib-python, the GUI build: Qt5, its fonts and a larger cv2 (~45 MB in the bundle), so
# the venv keeps it (pip would put it back on every install). The kiosk calls no cv2 GUI function
# (imshow, waitKey...) and no contrib module, and mediapipe's Python code imports cv2 only in
# drawing_utils, to draw. Installed here, outside the venv, and first on the path PyInstaller
# searches, so the spec analyses this cv2 (kiosk.spec refuses a bundle with the GUI build in it).
OPENCV_VERSION=$("$PYTHON" -c 'import cv2; print(cv2.__version__)')
OPENCV_WHEEL_VERSION=$("$PYTHON" -c '
from importlib.metadata import packages_distributions, version
names = sorted(set(packages_distributions().get("cv2", [])))
if len(names) != 1:
    raise SystemExit("build.sh: cv2 is installed by %s, expected one distribution" % (names or "none"))
print(version(names[0]))')
OVERRIDES="$ROOT/build/bundle-overrides"
if [[ "$(cat "$OVERRIDES/.installed" 2>/dev/null)" != "opencv-python-headless==$OPENCV_WHEEL_VERSION" ]]; then
  rm -rf "$OVERRIDES"
  "$PYTHON" -m pip install -q --no-deps --only-binary=:all: --target "$OVERRIDES" \
    "opencv-python-headless==$OPENCV_WHEEL_VERSION"
  echo "opencv-python-headless==$OPENCV_WHEEL_VERSION" > "$OVERRIDES/.installed"
fi
bundled=$(PYTHONPATH="$OVERRIDES" "$PYTHON" -c 'import cv2; print(cv2.__version__)')
if [[ "$bundled" != "$OPENCV_VERSION" ]]; then
  echo "build.sh: headless OpenCV $bundled differs from the venv's $OPENCV_VERSION" >&2
  exit 2
fi

start=$(date +%s)
PYTHONPATH="$OVERRIDES${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
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
