#!/usr/bin/env bash
# Starts a private PulseAudio server with a null sink (an audio output that plays into nothing),
# so the kiosk's real audio path runs on machines without a sound card (CI, soak tests).
# Prints the environment the kiosk and the tests need; use it as:
#   eval "$(bash scripts/start-audio-sink.sh)"
# Idempotent: a server already answering on the socket is reused. Works as root (CI) too: the
# per-user daemon refuses nothing but warns, and --system is not needed.
# Set KIOSK_AUDIO_DIR to choose where the socket lives (default /tmp/kiosk-audio-$UID).
set -euo pipefail
dir="${KIOSK_AUDIO_DIR:-/tmp/kiosk-audio-$(id -u)}"
if ! command -v pulseaudio >/dev/null; then
  echo "start-audio-sink: pulseaudio is not installed (apt-get install pulseaudio)" >&2
  exit 1
fi
mkdir -p -m 700 "$dir"
export XDG_RUNTIME_DIR="$dir" PULSE_SERVER="unix:$dir/pulse/native"
if ! pactl info >/dev/null 2>&1; then
  # -n: no default.pa (no hardware probing); exit-idle-time -1: stay up between test runs.
  pulseaudio --daemonize=yes --exit-idle-time=-1 --system=false -n \
    --load=module-native-protocol-unix \
    --load="module-null-sink sink_name=kiosk_null sink_properties=device.description=kiosk-null" \
    --log-target=stderr </dev/null >/dev/null 2>&1  # the daemon must not hold the caller's pipes
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
fi
pactl info >/dev/null 2>&1 || { echo "start-audio-sink: PulseAudio did not start" >&2; exit 1; }
echo "export XDG_RUNTIME_DIR=$dir PULSE_SERVER=unix:$dir/pulse/native"
