"""The .deb's maintainer scripts (packaging/debian/), run for real with the system's adduser,
deluser and deb-systemd-helper, in a throw-away mount namespace: /etc, /var and /usr are
overlays whose changes land in tmp_path, /opt holds a stand-in bundle and /run is empty (no
running systemd, as when a kiosk image is built in a chroot). Needs root, unshare and overlayfs;
skipped elsewhere. The machine's own /etc, users and installed kiosk are never touched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEBIAN = ROOT / "packaging" / "debian"
NEEDED = ("unshare", "mount", "findmnt", "adduser", "deluser", "useradd", "deb-systemd-helper", "getent", "find")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or any(shutil.which(c) is None for c in NEEDED),
    reason="needs root and " + ", ".join(NEEDED),
)

# Sets up the sandbox, then runs "$@" (the scenario) in it. Refuses to run the scenario unless
# every overlay is in place, so a failed mount can never let the scripts loose on the machine.
SANDBOX = r"""
set -eu
T=$1; shift
for d in etc var usr; do
    mkdir -p "$T/$d.up" "$T/$d.work"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/$d.up,workdir=$T/$d.work" "/$d"
    [ "$(findmnt -no FSTYPE "/$d")" = overlay ] || { echo "sandbox: /$d is not an overlay" >&2; exit 99; }
done
mount -t tmpfs tmpfs /opt
mount -t tmpfs tmpfs /run
[ "$(findmnt -no FSTYPE /opt)" = tmpfs ] && [ ! -d /run/systemd/system ] || exit 99
# A clean machine, whatever this one has installed.
rm -rf /etc/kiosk /var/lib/kiosk /var/cache/kiosk /var/lib/systemd/deb-systemd-helper-enabled/*kiosk* \
    /etc/systemd/system/*/kiosk.service
if getent passwd kiosk >/dev/null; then deluser --quiet kiosk >/dev/null 2>&1; fi
if getent group kiosk >/dev/null; then delgroup --quiet kiosk >/dev/null 2>&1; fi
# What the package ships, with a stand-in for the bundle (check-config is the bundle's business).
mkdir -p /opt/kiosk/share
cp "$DEBIAN/site-config.toml" /opt/kiosk/share/site-config.toml
printf '#!/bin/sh\nexit 0\n' > /opt/kiosk/kiosk; chmod 755 /opt/kiosk/kiosk
cp "$UNIT" /lib/systemd/system/kiosk.service
"$@"
"""

# state: one JSON line of what an operator would look at.
STATE = r"""
# maint SCRIPT ARGS...: a maintainer script as dpkg runs it (deb-systemd-helper insists on dpkg's variables).
maint() {
    script=$1; shift
    DPKG_MAINTSCRIPT_PACKAGE=kiosk DPKG_MAINTSCRIPT_NAME=$script sh "$DEBIAN/$script" "$@"
}
state() {
    stat_of() { if [ -e "$1" ]; then stat -c '%a %U:%G' "$1"; else echo absent; fi; }
    enabled=false; [ -L /etc/systemd/system/multi-user.target.wants/kiosk.service ] && enabled=true
    user=false; getent passwd kiosk >/dev/null && user=true
    printf '{"step": "%s", "enabled": %s, "user": %s, "etc": "%s", "config": "%s", "env": "%s", ' \
        "$1" "$enabled" "$user" "$(stat_of /etc/kiosk)" "$(stat_of /etc/kiosk/config.toml)" "$(stat_of /etc/kiosk/kiosk.env)"
    printf '"state": "%s", "key": "%s", "key_sum": "%s", "spool": "%s", "config_sum": "%s", "env_sum": "%s"}\n' \
        "$(stat_of /var/lib/kiosk)" "$(stat_of /var/lib/kiosk/device.key)" \
        "$(cat /var/lib/kiosk/device.key 2>/dev/null | md5sum | cut -c1-8)" \
        "$(stat_of /var/lib/kiosk/verdict-spool.jsonl)" \
        "$(md5sum < /etc/kiosk/config.toml 2>/dev/null | cut -c1-8)" "$(md5sum < /etc/kiosk/kiosk.env 2>/dev/null | cut -c1-8)"
}
"""


def run_scenario(tmp_path: Path, scenario: str) -> list[dict]:
    """Run `scenario` (shell, with `maint SCRIPT ARGS` and `state STEP`) in the sandbox; its state lines."""
    script = tmp_path / "scenario.sh"
    script.write_text("set -eu\n" + STATE + scenario)
    env = {**os.environ, "DEBIAN": str(DEBIAN), "UNIT": str(ROOT / "packaging" / "kiosk.service")}
    proc = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            SANDBOX,
            "sandbox",
            str(tmp_path),
            "sh",
            str(script),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode == 99 or "unshare: " in proc.stderr or "mount: " in proc.stderr:
        pytest.skip(f"no mount namespace with overlays here: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def test_first_install_without_a_running_systemd_enables_the_service_and_protects_the_secrets(tmp_path):
    """A kiosk image is built by installing the .deb in a chroot, where systemd does not run:
    the service was enabled only under a running systemd, so such a kiosk booted into nothing.
    kiosk.env, where the service's KIOSK_AZURE_SPEECH_KEY goes, was made 0644: every local user
    could read the key."""
    (first,) = run_scenario(tmp_path, 'maint postinst configure ""\nstate install\n')
    assert first["enabled"] is True, first
    assert first["user"] is True
    assert first["env"] == "600 root:root", first
    assert first["config"] == "640 root:kiosk"
    assert first["state"] == "700 kiosk:kiosk"
    assert first["key"] == "600 kiosk:kiosk"


def test_upgrade_keeps_the_sites_files_and_an_operators_disable_and_purge_removes_everything(tmp_path):
    steps = run_scenario(
        tmp_path,
        r"""
maint postinst configure ""
state install
echo '# site edit' >> /etc/kiosk/config.toml
echo 'QT_QPA_PLATFORM=xcb' >> /etc/kiosk/kiosk.env
( umask 077; echo '{"session_id": "s1"}' > /var/lib/kiosk/verdict-spool.jsonl ); chown kiosk:kiosk /var/lib/kiosk/verdict-spool.jsonl
state edited
maint postinst configure 0.1.0
state upgraded
systemctl disable kiosk.service >/dev/null 2>&1
maint postinst configure 0.1.0
state upgraded-while-disabled
systemctl enable kiosk.service >/dev/null 2>&1
maint prerm remove
maint postrm remove
state removed
maint postinst configure 0.1.0
state reinstalled
maint prerm remove
maint postrm remove
maint postrm purge
state purged
""",
    )
    by = {s["step"]: s for s in steps}
    edited = by["edited"]
    kept = ("config", "env", "state", "key", "key_sum", "spool", "config_sum", "env_sum")
    for step in ("upgraded", "removed", "reinstalled"):
        assert {k: by[step][k] for k in kept} == {k: edited[k] for k in kept}, step
    assert edited["spool"] == "600 kiosk:kiosk"
    assert by["upgraded"]["enabled"] is True
    assert by["upgraded-while-disabled"]["enabled"] is False  # an upgrade does not undo a disable
    assert by["reinstalled"]["enabled"] is True and by["reinstalled"]["user"] is True
    purged = by["purged"]
    assert (purged["etc"], purged["state"], purged["user"], purged["enabled"]) == ("absent", "absent", False, False)


def test_a_kiosk_user_that_was_there_before_without_a_kiosk_group_gets_one(tmp_path):
    """A "kiosk" account made before the package with another primary group (useradd -N):
    postinst stopped at `install: invalid group 'kiosk'`, the package left half-configured, and
    the unit (Group=kiosk) could not have started either."""
    steps = run_scenario(
        tmp_path,
        r"""
useradd --system --no-user-group --gid users --home-dir /var/lib/kiosk --no-create-home kiosk
maint postinst configure ""
state install
id -nG kiosk | tr ' ' '\n' | grep -qx kiosk && echo '{"step": "member"}'
maint postrm remove
maint postrm purge
state purged
getent group kiosk >/dev/null || echo '{"step": "group-gone"}'
""",
    )
    by = {s["step"]: s for s in steps}
    assert by["install"]["state"] == "700 kiosk:kiosk" and by["install"]["key"] == "600 kiosk:kiosk"
    assert by["install"]["config"] == "640 root:kiosk"
    assert "member" in by, "the user should be in the kiosk group (its primary group is another)"
    assert by["purged"]["user"] is False and "group-gone" in by
