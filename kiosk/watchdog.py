"""systemd notification (sd_notify) without a dependency: READY=1 once the window is up, then
WATCHDOG=1 from the GUI loop, so a frozen kiosk is killed and restarted by systemd
(WatchdogSec in packaging/kiosk.service). Does nothing outside systemd."""
from __future__ import annotations

import os
import socket
import time


class Watchdog:
    def __init__(self, env: dict | None = None, clock=time.monotonic):
        env = os.environ if env is None else env
        self.address = env.get("NOTIFY_SOCKET", "")
        usec = env.get("WATCHDOG_USEC", "")
        # Ping at a third of the timeout systemd gave us.
        self.interval_s = int(usec) / 3e6 if usec.isdigit() and int(usec) > 0 else None
        self._clock = clock
        self._last = float("-inf")

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, message: str) -> bool:
        if not self.address:
            return False
        addr = self.address
        if addr.startswith("@"):  # abstract namespace socket
            addr = "\0" + addr[1:]
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), addr)
        return True

    def ready(self) -> bool:
        return self.notify("READY=1")

    def ping(self) -> bool:
        """Called often from the GUI loop; sends at most once per interval."""
        if self.interval_s is None:
            return False
        now = self._clock()
        if now - self._last < self.interval_s:
            return False
        self._last = now
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")
