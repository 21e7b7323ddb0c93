#!/usr/bin/env bash
# Build the Debian package from the one-folder bundle:
#   bash packaging/build.sh && bash packaging/build-deb.sh      # -> dist/kiosk_<version>_<arch>.deb
#   sudo apt-get install ./dist/kiosk_*.deb                        # installs its system libraries too
#
# Layout: /opt/kiosk (the bundle, root-owned), /lib/systemd/system/kiosk.service, and from the
# maintainer scripts (packaging/debian/): the system user "kiosk", /var/lib/kiosk (0700) with the
# device key, /etc/kiosk/config.toml and kiosk.env, each created only if absent.
# Env: BUNDLE (default dist/kiosk), DIST_DIR (default dist), VERSION (default from pyproject.toml).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUNDLE="${BUNDLE:-$ROOT/dist/kiosk}"
DIST_DIR="${DIST_DIR:-$ROOT/dist}"
[[ -x "$BUNDLE/kiosk" ]] || { echo "build-deb.sh: no bundle at $BUNDLE (run: bash packaging/build.sh)" >&2; exit 2; }
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb not found" >&2; exit 2; }

VERSION="${VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)}"
ARCH="$(dpkg --print-architecture)"
STAGE="$ROOT/build/deb/kiosk_${VERSION}_${ARCH}"
rm -rf "$STAGE"
install -d "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/lib/systemd/system"

cp -a "$BUNDLE" "$STAGE/opt/kiosk"
install -d "$STAGE/opt/kiosk/share"
install -m 0644 packaging/debian/site-config.toml "$STAGE/opt/kiosk/share/site-config.toml"
install -m 0644 packaging/README.md "$STAGE/opt/kiosk/README.md"
install -m 0644 packaging/kiosk.service "$STAGE/lib/systemd/system/kiosk.service"
chmod -R u+rwX,go+rX,go-w "$STAGE/opt/kiosk"

for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$STAGE/DEBIAN/$script"
done
SIZE_KB=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE_KB@/$SIZE_KB/" \
  packaging/debian/control.in > "$STAGE/DEBIAN/control"

mkdir -p "$DIST_DIR"
OUT="$DIST_DIR/kiosk_${VERSION}_${ARCH}.deb"
# -Zgzip -z1: gzip's fastest level (the package is built on every CI run; -z9 saves ~10 % for
# minutes of CPU); --root-owner-group: files owned by root in the package.
dpkg-deb --root-owner-group -Zgzip -z1 --build "$STAGE" "$OUT" >/dev/null
echo "build-deb.sh: built $OUT ($(du -h "$OUT" | cut -f1); installed size $((SIZE_KB / 1024)) MB)"
