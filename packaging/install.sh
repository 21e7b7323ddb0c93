#!/usr/bin/env bash
# Install the kiosk bundle on a Linux (systemd) machine.
#
#   sudo bash packaging/install.sh [--bundle dist/kiosk] [--start] [--with-deps]
#
# - copies the bundle to /opt/kiosk (the previous one is kept as /opt/kiosk.old)
# - creates the system user "kiosk" (groups video, render, input, audio where they exist)
# - writes /etc/kiosk/config.toml only if absent (a site's config is never overwritten)
# - creates the device key /var/lib/kiosk/device.key (32 random bytes as hex, mode 0600,
#   owner kiosk) only if absent; give the same key to the host that verifies verdicts
# - installs and enables kiosk.service (--start also starts it now)
# - --with-deps: apt-get installs the system libraries the bundle does not carry
#
# DESTDIR=/some/dir installs into a staging tree instead (no user, chown or systemctl):
# used by CI and for building OS images.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BUNDLE="$ROOT/dist/kiosk"
START=0
DEPS=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle) BUNDLE="$2"; shift 2 ;;
    --start) START=1; shift ;;
    --with-deps) DEPS=1; shift ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

DESTDIR="${DESTDIR:-}"
STAGING=0; [[ -n "$DESTDIR" ]] && STAGING=1
PREFIX="$DESTDIR/opt/kiosk"
ETC="$DESTDIR/etc/kiosk"
STATE="$DESTDIR/var/lib/kiosk"
UNIT_DIR="$DESTDIR/etc/systemd/system"
USER_NAME=kiosk

die() { echo "install.sh: $*" >&2; exit 1; }
[[ -x "$BUNDLE/kiosk" ]] || die "no bundle at $BUNDLE (run: bash packaging/build.sh)"
if [[ $STAGING -eq 0 && $EUID -ne 0 ]]; then die "run as root (or set DESTDIR to stage)"; fi

if [[ $DEPS -eq 1 && $STAGING -eq 0 ]]; then
  # xcb keysyms/icccm: Qt's X11 platform; portaudio: sounddevice; espeak-ng: offline voice;
  # libgl/libegl/libgles: MediaPipe and Qt eglfs; v4l-utils: camera diagnostics.
  apt-get install -y --no-install-recommends libxcb-keysyms1 libxcb-icccm4 libxcb-cursor0 \
    libxkbcommon-x11-0 libportaudio2 espeak-ng libegl1 libgles2 libgl1 libdrm2 libgbm1 \
    libfontconfig1 fonts-dejavu-core v4l-utils
fi

# --- user
if [[ $STAGING -eq 0 ]] && ! id -u "$USER_NAME" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/kiosk --no-create-home \
    --shell /usr/sbin/nologin --comment "human-verification kiosk" "$USER_NAME"
fi
if [[ $STAGING -eq 0 ]]; then
  for g in video render input audio; do
    getent group "$g" >/dev/null && usermod -a -G "$g" "$USER_NAME"
  done
fi
own() { [[ $STAGING -eq 1 ]] || chown "$@"; }

# --- program: root-owned, so the kiosk user cannot change its own code or models
mkdir -p "$(dirname "$PREFIX")"
rm -rf "$PREFIX.new"
cp -a "$BUNDLE" "$PREFIX.new"
install -m 0644 "$HERE/README.md" "$PREFIX.new/README.md"
own -R root:root "$PREFIX.new"
chmod -R u+rwX,go+rX,go-w "$PREFIX.new"
if [[ -d "$PREFIX" ]]; then rm -rf "$PREFIX.old"; mv "$PREFIX" "$PREFIX.old"; fi
mv "$PREFIX.new" "$PREFIX"

# --- state: device key and verdict spool
install -d -m 0700 "$STATE"
own "$USER_NAME:$USER_NAME" "$STATE"
KEY="$STATE/device.key"
if [[ ! -e "$KEY" ]]; then
  ( umask 077
    od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n' > "$KEY.tmp"
    echo >> "$KEY.tmp" )
  [[ $(tr -d '\n' < "$KEY.tmp" | wc -c) -eq 64 ]] || die "could not read 32 random bytes"
  chmod 0600 "$KEY.tmp"
  own "$USER_NAME:$USER_NAME" "$KEY.tmp"
  mv "$KEY.tmp" "$KEY"
  echo "install.sh: created device key $KEY (give it to the verdict verifier on the host)"
else
  chmod 0600 "$KEY"
fi

# --- configuration: never overwrite a site's file
install -d -m 0755 "$ETC"
if [[ ! -e "$ETC/config.toml" ]]; then
  cat > "$ETC/config.toml" <<TOML
# Site configuration: overrides /opt/kiosk/_internal/kiosk/default_config.toml key by key.
# Check it with: /opt/kiosk/kiosk check-config /etc/kiosk/config.toml

[ui]
fullscreen = true
allow_exit = false

[speech]
cache_dir = "/var/cache/kiosk/tts"

[security]
max_failures = 5
window_s = 180.0
lockout_s = 300.0
state_path = "/var/lib/kiosk/lockout.json"   # a lockout survives a reboot or a crash

[verdict]
key_path = "/var/lib/kiosk/device.key"
# The service may only write under /var/lib/kiosk; for a command or a local URL use e.g.
#   hook = "command:/usr/local/bin/on-verdict"   or   hook = "http://127.0.0.1:8080/verdict"
hook = "file:/var/lib/kiosk/verdicts.jsonl"
device_id = "$(hostname -s 2>/dev/null || echo kiosk-1)"
TOML
  chmod 0640 "$ETC/config.toml"   # may hold the admin PIN
  own "root:$USER_NAME" "$ETC/config.toml"
fi
[[ -e "$ETC/kiosk.env" ]] || printf '# Overrides for kiosk.service, e.g.\n# QT_QPA_PLATFORM=xcb\n# DISPLAY=:0\n' > "$ETC/kiosk.env"

"$PREFIX/kiosk" check-config "$ETC/config.toml" || die "$ETC/config.toml is not valid (see above)"

# --- service
install -d "$UNIT_DIR"
install -m 0644 "$HERE/kiosk.service" "$UNIT_DIR/kiosk.service"
if [[ $STAGING -eq 0 ]] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
  systemctl enable kiosk.service
  if [[ $START -eq 1 ]]; then systemctl restart kiosk.service; fi
  echo "install.sh: installed; start with: systemctl start kiosk  (logs: journalctl -u kiosk -f)"
else
  echo "install.sh: staged into ${DESTDIR:-/}"
fi
