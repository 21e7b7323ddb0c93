"""Signed verdict records for the host system (stdlib only).

A verdict record says who decided what and when - never a score and never anything biometric:

    {"v": 1, "session_id": "...", "device_id": "...", "started_at": "2026-11-22T07:20:28.123Z",
     "finished_at": "...", "verdict": "pass" | "fail", "levels_passed": 0..2,
     "challenge_kinds": ["head_pose", ...], "model_versions": {"liveness": "1.0", ...},
     "alg": "HMAC-SHA256", "signature": "<64 hex chars>"}

The signature is HMAC-SHA256 with the device key over the canonical JSON of every field except
"signature" (sorted keys, no spaces, UTF-8), so the host verifies it with `verify()` or with any
HMAC library and the same key (the key file holds the key as 64 hex characters).

Delivery: a hook (append to a file, run a command, POST to a URL). A failed delivery is logged
and the record goes to a spool file; every later delivery first retries the spool in order, so
nothing is lost while the host is away. Delivery blocks up to the hook's timeout: call it off
the UI thread.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import http.client
import json
import logging
import math
import os
import secrets
import shlex
import stat
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterable

log = logging.getLogger(__name__)

RECORD_VERSION = 1
ALG = "HMAC-SHA256"
KEY_BYTES = 32
MIN_KEY_BYTES = 16
DEFAULT_SPOOL = "~/.local/share/kiosk/verdict-spool.jsonl"


class VerdictError(ValueError):
    """A record cannot be built or signed from the given values."""


class KeyFileError(RuntimeError):
    """The device key file is unsafe or unreadable; the message says what to do."""


class DeliveryError(RuntimeError):
    """A hook could not hand a record to the host."""


# --------------------------------------------------------------------------- records


def _timestamp(value: Any, name: str) -> str:
    """ISO 8601 UTC with milliseconds, from wall-clock epoch seconds or an aware datetime."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise VerdictError(f"{name}: naive datetime is ambiguous; pass an aware one (UTC)")
        when = value.astimezone(_dt.timezone.utc)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        # Wall-clock seconds (time.time()); a monotonic reading would land in 1970.
        when = _dt.datetime.fromtimestamp(float(value), _dt.timezone.utc)
    else:
        raise VerdictError(f"{name}: expected epoch seconds or an aware datetime, got {value!r}")
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def make_record(session_id: str, passed: bool, levels_passed: int, challenge_kinds: Iterable[str],
                model_versions: dict, started_at, finished_at, device_id: str) -> dict:
    """The unsigned verdict record. Times are wall-clock epoch seconds or aware datetimes."""
    if not isinstance(session_id, str) or not session_id:
        raise VerdictError(f"session_id must be a non-empty string, got {session_id!r}")
    if not isinstance(device_id, str) or not device_id:
        raise VerdictError(f"device_id must be a non-empty string, got {device_id!r}")
    if not isinstance(passed, bool):
        raise VerdictError(f"passed must be True or False, got {passed!r}")
    if not isinstance(levels_passed, int) or isinstance(levels_passed, bool) or not 0 <= levels_passed <= 2:
        raise VerdictError(f"levels_passed must be 0, 1 or 2, got {levels_passed!r}")
    kinds = list(challenge_kinds)
    if not all(isinstance(k, str) for k in kinds):
        raise VerdictError(f"challenge_kinds must be strings, got {kinds!r}")
    if not isinstance(model_versions, dict) or not all(isinstance(k, str) for k in model_versions):
        raise VerdictError(f"model_versions must be a dict name -> version, got {model_versions!r}")
    return {
        "v": RECORD_VERSION,
        "session_id": session_id,
        "device_id": device_id,
        "started_at": _timestamp(started_at, "started_at"),
        "finished_at": _timestamp(finished_at, "finished_at"),
        "verdict": "pass" if passed else "fail",
        "levels_passed": levels_passed,
        "challenge_kinds": kinds,
        "model_versions": {str(k): str(v) for k, v in model_versions.items()},
    }


def canonical(record: dict) -> bytes:
    """The bytes that are signed: every field but "signature", sorted keys, no spaces, UTF-8."""
    body = {k: v for k, v in record.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, (bytes, bytearray)) or len(key) < MIN_KEY_BYTES:
        raise VerdictError(f"the device key must be at least {MIN_KEY_BYTES} bytes")
    return bytes(key)


def sign(record: dict, key: bytes) -> dict:
    """A copy of record with "alg" and "signature" (hex HMAC-SHA256 over canonical(record+alg))."""
    signed = {k: v for k, v in record.items() if k != "signature"}
    signed["alg"] = ALG
    signed["signature"] = hmac.new(_check_key(key), canonical(signed), hashlib.sha256).hexdigest()
    return signed


def verify(signed: Any, key: bytes) -> bool:
    """True only if signed carries a valid signature by key over all of its other fields."""
    try:
        if not isinstance(signed, dict) or signed.get("alg") != ALG:
            return False
        signature = signed.get("signature")
        if not isinstance(signature, str):
            return False
        expected = hmac.new(_check_key(key), canonical(signed), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8"))
    except (TypeError, ValueError):  # unserialisable values, bad key
        return False


def to_json_line(signed: dict) -> bytes:
    """One record as one JSON line (canonical form + newline), as every hook sends it."""
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8") + b"\n"


# --------------------------------------------------------------------------- device key


def load_or_create_device_key(path: str | os.PathLike) -> bytes:
    """The device key from path (64 hex chars); created with 32 random bytes, mode 0600, if absent.

    Refuses a key file that group or others may read or write, or that is not a regular file.
    """
    path = Path(path).expanduser()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return _create_key(path)
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"device key {path} is not a regular file")
    if st.st_mode & 0o077:
        raise KeyFileError(
            f"device key {path} is accessible by group/others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {shlex.quote(str(path))}")
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise KeyFileError(f"device key {path} is unreadable or not hex: {exc}") from None
    if len(key) < MIN_KEY_BYTES:
        raise KeyFileError(f"device key {path} is too short ({len(key)} bytes, need {KEY_BYTES})")
    return key


def _create_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        # O_EXCL: two starting processes cannot both write a key; 0600 is set at creation,
        # so the key is never readable by others, even for an instant.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_device_key(path)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    log.info("created device key %s", path)
    return key


# --------------------------------------------------------------------------- delivery


class Hook:
    """Delivers signed records; failures go to a spool file that is retried first next time."""

    def __init__(self, spool_path: str | os.PathLike | None = None):
        self.spool_path = Path(spool_path or DEFAULT_SPOOL).expanduser()
        self._lock = threading.Lock()

    def send(self, line: bytes) -> None:
        """Hand one JSON line to the host; raise DeliveryError (or OSError) on failure."""
        raise NotImplementedError

    def deliver(self, signed: dict) -> bool:
        """Deliver the spooled records, then this one, in order. True if this one was delivered.

        On the first failure the rest (this record included) is written back to the spool.
        """
        with self._lock:
            pending = self._read_spool() + [to_json_line(signed)]
            for i, line in enumerate(pending):
                try:
                    self.send(line)
                except Exception as exc:  # any failure: keep the record, never lose it
                    log.warning("verdict delivery via %s failed (%s); %d record(s) spooled to %s",
                                self, exc, len(pending) - i, self.spool_path)
                    self._save_spool(pending[i:])
                    return False
            self._save_spool([])
            return True

    def _save_spool(self, lines: list[bytes]) -> None:
        try:
            self._write_spool(lines)
        except OSError as exc:  # disk full, read-only: say so loudly, keep the kiosk running
            log.error("cannot write the verdict spool %s (%s); %d record(s) not saved",
                      self.spool_path, exc, len(lines))

    def pending(self) -> int:
        """How many records wait in the spool."""
        return len(self._read_spool())

    def _read_spool(self) -> list[bytes]:
        try:
            raw = self.spool_path.read_bytes()
        except FileNotFoundError:
            return []
        lines, bad = [], []
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                json.loads(line)
                lines.append(line + b"\n")
            except ValueError:
                bad.append(line + b"\n")
        if bad:  # keep what cannot be parsed aside instead of dropping it or retrying forever
            corrupt = self.spool_path.with_name(self.spool_path.name + ".corrupt")
            log.error("%d unreadable line(s) in the verdict spool moved to %s", len(bad), corrupt)
            _append(corrupt, b"".join(bad), 0o600)
        return lines

    def _write_spool(self, lines: list[bytes]) -> None:
        if not lines:
            self.spool_path.unlink(missing_ok=True)
            return
        # Write-then-rename: a crash mid-write leaves the old spool, never a half one.
        self.spool_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.spool_path.with_name(self.spool_path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"".join(lines))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.spool_path)


def _append(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)  # the verdict is on disk before we report it delivered
    finally:
        os.close(fd)


class NullHook(Hook):
    """No hook configured: records are dropped (logged at debug level, no spool)."""

    def deliver(self, signed: dict) -> bool:
        log.debug("no verdict hook configured; session %s not delivered", signed.get("session_id"))
        return True

    def __repr__(self) -> str:
        return "NullHook()"


class FileHook(Hook):
    """Appends one JSON line per record to a file and fsyncs it."""

    def __init__(self, path: str | os.PathLike, spool_path: str | os.PathLike | None = None):
        super().__init__(spool_path)
        self.path = Path(path).expanduser()

    def send(self, line: bytes) -> None:
        _append(self.path, line, 0o640)

    def __repr__(self) -> str:
        return f"FileHook({str(self.path)!r})"


class CommandHook(Hook):
    """Runs a program (no shell) with the record as one JSON line on stdin; exit 0 = delivered."""

    def __init__(self, argv: list[str] | str, timeout_s: float = 5.0,
                 spool_path: str | os.PathLike | None = None):
        super().__init__(spool_path)
        self.argv = shlex.split(argv) if isinstance(argv, str) else [str(a) for a in argv]
        if not self.argv:
            raise ValueError("CommandHook needs a program to run")
        self.timeout_s = float(timeout_s)

    def send(self, line: bytes) -> None:
        try:
            done = subprocess.run(self.argv, input=line, capture_output=True, timeout=self.timeout_s,
                                  shell=False, check=False)
        except subprocess.TimeoutExpired:
            raise DeliveryError(f"command timed out after {self.timeout_s:g} s") from None
        except OSError as exc:
            raise DeliveryError(f"command could not start: {exc}") from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip()[:200]
            raise DeliveryError(f"command exited with {done.returncode}: {err}")

    def __repr__(self) -> str:
        return f"CommandHook({self.argv!r})"


class HttpHook(Hook):
    """POSTs the record as JSON; any 2xx answer = delivered. No proxies, no redirects."""

    def __init__(self, url: str, timeout_s: float = 5.0, spool_path: str | os.PathLike | None = None):
        super().__init__(spool_path)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"HttpHook needs an http:// or https:// URL, got {url!r}")
        self.url = url
        self.timeout_s = float(timeout_s)
        # The host is local; an environment proxy must not see (or divert) verdicts.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def send(self, line: bytes) -> None:
        request = urllib.request.Request(self.url, data=line, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(request, timeout=self.timeout_s) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as exc:
            raise DeliveryError(f"HTTP request failed: {getattr(exc, 'reason', exc)}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}")

    def __repr__(self) -> str:
        return f"HttpHook({self.url!r})"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401 - urllib API
        return None  # a redirect is a failed delivery, not a silent GET elsewhere


def hook_from_config(config: dict | str) -> Hook:
    """A hook from the [verdict] config section (or just its `hook` string).

    `hook` is "" (no delivery), "file:PATH", "command:PROGRAM ARGS..." (split like a shell would,
    but run without one) or an http(s):// URL. Optional keys: `spool_path` (default next to
    `key_path`, else ~/.local/share/kiosk/verdict-spool.jsonl) and `timeout_s` (default 5).
    A table form is accepted too: {"type": "file"|"command"|"http", "path"|"argv"|"url": ...}.
    """
    if isinstance(config, str):
        config = {"hook": config}
    spool = config.get("spool_path")
    if not spool and config.get("key_path"):
        spool = Path(config["key_path"]).expanduser().with_name("verdict-spool.jsonl")
    timeout_s = float(config.get("timeout_s", 5.0))
    kind = config.get("type")
    if kind == "file":
        return FileHook(config["path"], spool)
    if kind == "command":
        return CommandHook(config["argv"], timeout_s, spool)
    if kind == "http":
        return HttpHook(config["url"], timeout_s, spool)
    if kind is not None:
        raise ValueError(f"verdict hook type must be file, command or http, got {kind!r}")
    hook = str(config.get("hook", "")).strip()
    if not hook:
        return NullHook(spool)
    if hook.startswith("file:"):
        return FileHook(hook[len("file:"):], spool)
    if hook.startswith("command:"):
        return CommandHook(hook[len("command:"):], timeout_s, spool)
    if hook.startswith(("http://", "https://")):
        return HttpHook(hook, timeout_s, spool)
    raise ValueError(f"verdict.hook must be empty, file:PATH, command:ARGV or an http(s) URL, got {hook!r}")
