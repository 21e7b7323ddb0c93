"""systemd notification (sd_notify) without a dependency: READY=1 once the window is up, then
WATCHDOG=1 from the GUI loop while the kiosk is healthy (kiosk.health: frames analysed and the
session engine moving), so a frozen or stuck kiosk is killed and restarted by systemd
(WatchdogSec in packaging/kiosk.service). Does nothing outside systemd."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Watchdog:
    def __init__(self, env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic):
        env = os.environ if env is None else env
        self.address = env.get("NOTIFY_SOCKET", "")
        usec = env.get("WATCHDOG_USEC", "")
        # Ping at a third of the timeout systemd gave us.
        self.interval_s = int(usec) / 3e6 if usec.isdigit() and int(usec) > 0 else None
        self._clock = clock
        self._last = float("-inf")
        self.withheld = 0  # pings not sent because the kiosk was unhealthy

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, message: str) -> bool:
        if not self.address:
            return False
        addr = self.address
        if addr.startswith("@"):  # abstract namespace socket
            addr = "\0" + addr[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                # Never block the GUI thread: with the receiver's queue full the message is dropped.
                s.setblocking(False)
                s.sendto(message.encode(), addr)
        except OSError as exc:  # systemd gone or not reading: nothing to crash on
            log.warning("sd_notify %s failed: %s", message.split("=", 1)[0], exc)
            return False
        return True

    def ready(self) -> bool:
        return self.notify("READY=1")

    def ping(self, healthy: bool = True) -> bool:
        """Called often from the GUI loop; sends at most once per interval, and only when healthy:
        an unhealthy kiosk lets the watchdog run out so systemd restarts it."""
        if self.interval_s is None:
            return False
        if not healthy:
            self.withheld += 1
            return False
        now = self._clock()
        if now - self._last < self.interval_s:
            return False
        self._last = now
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """A one-line status `systemctl status kiosk` shows."""
        return self.notify("STATUS=" + text.replace("\n", " ")[:200])

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")
