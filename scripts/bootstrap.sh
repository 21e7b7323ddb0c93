#!/usr/bin/env bash
# Installs everything the kiosk and its tests need on a fresh Debian machine (idempotent).
# System packages through apt (needs root or sudo), Python packages into ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3-venv python3-pip
  espeak-ng                 # offline text-to-speech (pyttsx3 driver) and test recordings
  fonts-noto-color-emoji    # the challenge icons
  libgl1 libegl1 libglib2.0-0 libfontconfig1 libdbus-1-3   # OpenCV, MediaPipe, Qt
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0 libx11-xcb1   # Qt on X11
  libpulse0 libasound2      # QtMultimedia audio
  pulseaudio pulseaudio-utils   # a null audio sink for CI and soak tests (scripts/start-audio-sink.sh)
  xvfb                      # an X screen of a chosen size for the tests (small kiosk panels)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "bootstrap: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# Editable install: the models/ and resources/ folders are read from this checkout.
.venv/bin/python -m pip install -q -e ".[test]"
echo "bootstrap: ready ($(.venv/bin/python --version))"
