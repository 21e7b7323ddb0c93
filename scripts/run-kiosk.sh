#!/usr/bin/env bash
# Sets up (first run) and starts the full-screen kiosk. Extra arguments go to `kiosk run`,
# e.g. --source 0 (camera), --source clip.mp4, --windowed, or --config site.toml before `run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/kiosk run "$@"
