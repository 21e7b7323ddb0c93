"""Signed verdict records for the host system (stdlib only).

A verdict record says who decided what and when - never a score and never anything biometric:

    {"v": 1, "session_id": "...", "device_id": "...", "started_at": "2026-11-22T07:20:28.123Z",
     "finished_at": "...", "verdict": "pass" | "fail", "levels_passed": 0..2,
     "challenge_kinds": ["head_pose", ...], "model_versions": {"liveness": "1.0", ...},
     "expires_at": "...", "nonce": "<the host's nonce, only when the host sent one>",
     "alg": "HMAC-SHA256", "signature": "<64 hex chars>"}

The signature is HMAC-SHA256 with the device key over the canonical JSON of every field except
"signature" (sorted keys, no spaces, UTF-8), so the host verifies it with `verify()` or with any
HMAC library and the same key (the key file holds the key as 64 hex characters).
`check_record()` (and `kiosk verify-record`) checks signature, expiry and the host's nonce; the
host still has to refuse a session_id it has seen before (a record is valid until it expires).

Delivery: a hook (append to a file, run a command, POST to a URL). Each record is written to a
spool file (atomically, fsynced) before it is sent and taken out once delivered, so a crash or
power cut mid-send cannot lose it (at worst it is sent again at the next start: at least once).
A failed delivery is logged and the record stays in the spool; every later delivery first
retries the spool in order, so nothing is lost while the host is away; when the spool cannot be written either (disk full)
the records stay in memory and are retried with the next delivery. A record the host refuses for
good (HTTP 400, 409, 410, 422: say, expired while it waited) is set aside in `<spool>.refused`
instead, so it cannot hold back the records after it. Delivery blocks up to the
hook's timeout: call it off the UI thread.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
import selectors
import shlex
import shutil
import signal
import stat
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import net
from .files import fsync_dir, write_atomically

log = logging.getLogger(__name__)

RECORD_VERSION = 1
ALG = "HMAC-SHA256"
KEY_BYTES = 32
MIN_KEY_BYTES = 32  # HMAC-SHA256's own size; shorter keys are refused, not padded
KEY_MARKER_SUFFIX = ".issued"
NONCE_PATTERN = re.compile(r"[A-Za-z0-9._~+/=-]{8,128}")
HOOK_OUTPUT_BYTES = 4096  # what is kept of a command hook's stderr for the log; the rest is read and dropped
DEFAULT_SPOOL = "~/.local/share/kiosk/verdict-spool.jsonl"
# HTTP answers that refuse this one record (bad request, conflict: a session_id seen before, gone,
# unprocessable: expired). Others (401/403/404: the kiosk's URL or credentials; 408/429/5xx:
# the host is busy or away) say nothing against the record: it waits in the spool.
REFUSED_STATUSES = frozenset({400, 409, 410, 422})


class VerdictError(ValueError):
    """A record cannot be built or signed from the given values."""


class KeyFileError(RuntimeError):
    """The device key file is unsafe or unreadable; the message says what to do."""


class DeliveryError(RuntimeError):
    """A hook could not hand a record to the host."""


class DeliveryRefused(DeliveryError):
    """The host received the record and refuses it for good (expired, a session_id it has seen,
    malformed): sending it again cannot help."""


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


def make_record(
    session_id: str,
    passed: bool,
    levels_passed: int,
    challenge_kinds: Iterable[str],
    model_versions: dict,
    started_at: Any,
    finished_at: Any,
    device_id: str,
    *,
    valid_s: float,
    nonce: str | None = None,
) -> dict:
    """The unsigned verdict record. Times are wall-clock epoch seconds or aware datetimes; the
    record expires `valid_s` seconds after `finished_at`; `nonce` is the host's, when it sent one."""
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
    if not isinstance(valid_s, (int, float)) or isinstance(valid_s, bool) or not math.isfinite(valid_s) or valid_s <= 0:
        raise VerdictError(f"valid_s must be a positive number of seconds, got {valid_s!r}")
    if nonce is not None and not valid_nonce(nonce):
        raise VerdictError(f"nonce must be 8-128 characters of A-Z a-z 0-9 . _ ~ + / = -, got {nonce!r}")
    finished = _timestamp(finished_at, "finished_at")
    expires = _timestamp(_parse_time(finished) + float(valid_s), "expires_at")
    record = {
        "v": RECORD_VERSION,
        "session_id": session_id,
        "device_id": device_id,
        "started_at": _timestamp(started_at, "started_at"),
        "finished_at": finished,
        "expires_at": expires,
        "verdict": "pass" if passed else "fail",
        "levels_passed": levels_passed,
        "challenge_kinds": kinds,
        "model_versions": {str(k): str(v) for k, v in model_versions.items()},
    }
    if nonce is not None:
        record["nonce"] = nonce
    return record


def valid_nonce(nonce: Any) -> bool:
    """A host nonce: 8-128 characters of the base64/hex/uuid alphabets (no spaces, no control
    characters), so it survives JSON, a shell and a log line unchanged."""
    return isinstance(nonce, str) and NONCE_PATTERN.fullmatch(nonce) is not None


def _parse_time(text: str) -> float:
    """Epoch seconds of a record timestamp ("2026-11-22T07:20:28.123Z")."""
    when = _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=_dt.timezone.utc)
    return when.timestamp()


def canonical(record: dict) -> bytes:
    """The bytes that are signed: every field but "signature", sorted keys, no spaces, UTF-8."""
    body = {k: v for k, v in record.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def key_problem(key: bytes) -> str:
    """Why key must not sign verdicts ("" if it may): too short, or one byte repeated (an
    all-zero key is what a failed random source or a zeroed file gives)."""
    if not isinstance(key, (bytes, bytearray)):
        return "the device key must be bytes"
    if len(key) < MIN_KEY_BYTES:
        return f"the device key is {len(key)} bytes; it must be at least {MIN_KEY_BYTES} random bytes"
    if len(set(key)) == 1:
        return f"the device key is one byte (0x{key[0]:02x}) repeated, not a random key"
    return ""


def _check_key(key: bytes) -> bytes:
    problem = key_problem(key)
    if problem:
        raise VerdictError(problem)
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
    return (
        json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        + b"\n"
    )


# --------------------------------------------------------------------------- device key


def key_marker(path: str | os.PathLike) -> Path:
    """The file that says a device key was issued at `path` (it holds no secret)."""
    path = Path(path).expanduser()
    return path.with_name(path.name + KEY_MARKER_SUFFIX)


def check_device_key(path: str | os.PathLike) -> str:
    """What `load_or_create_device_key` would refuse at `path`, without creating anything
    ("" if it would load or create a key)."""
    path = Path(path).expanduser()
    if not path.exists() and not key_marker(path).exists():
        problem = _creation_problem(path)  # first start: the kiosk creates the key, if it can
        return f"cannot create device key {path}: {problem}" if problem else ""
    try:
        _read_key(path)
    except KeyFileError as exc:
        return str(exc)
    return ""


def _creation_problem(path: Path) -> str:
    """Why a file could not be created at `path` ("" if it could): the first existing folder on
    the way must be a folder this process may write into."""
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"no permission to write in {existing}"
    return ""


def load_device_key(path: str | os.PathLike) -> bytes:
    """The device key at path, never creating one (for the host side: `kiosk verify-record`)."""
    path = Path(path).expanduser()
    try:
        return _read_key(path)
    except (FileNotFoundError, NotADirectoryError):
        raise KeyFileError(f"device key {path} does not exist") from None


def load_or_create_device_key(path: str | os.PathLike) -> bytes:
    """The device key from path (64 hex chars); created with 32 random bytes, mode 0600, only on
    first use.

    Next to the key a marker (`device.key.issued`) records that a key was issued. A key that has
    gone missing after that is NOT replaced: the host knows the old key only, so records signed
    by a fresh one would all be refused (or, worse, a swapped-in key would be trusted). The error
    tells the operator to restore the key, or to remove the marker to issue a new one on purpose.
    Refuses a key file that group or others may read or write, that is not a regular file, that
    is shorter than 32 bytes or that is one byte repeated (e.g. all zero).
    """
    path = Path(path).expanduser()
    try:
        key = _read_key(path)
    except (FileNotFoundError, NotADirectoryError):  # no key there (a file in the folder's place: create says so)
        return _create_key(path)
    _mark_issued(key_marker(path))  # a key put there by the installer counts as issued too
    return key


def _read_key(path: Path) -> bytes:
    """The key at path; FileNotFoundError only when no key was ever issued there."""
    marker = key_marker(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if marker.exists():
            raise KeyFileError(
                f"device key {path} is missing, but a key was issued here before ({marker} exists); "
                f"the host can only verify records signed with that key. Restore the key file, or, to "
                f"issue a new key and give it to the host, remove {shlex.quote(str(marker))}"
            ) from None
        raise
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"device key {path} is not a regular file")
    if st.st_mode & 0o077:
        raise KeyFileError(
            f"device key {path} is accessible by group/others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {shlex.quote(str(path))}"
        )
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise KeyFileError(f"device key {path} is unreadable or not hex: {exc}") from None
    problem = key_problem(key)
    if problem:
        raise KeyFileError(
            f"device key {path}: {problem}; replace it with {KEY_BYTES} random bytes "
            f"as hex and give the new key to the host"
        )
    return key


def _mark_issued(marker: Path) -> None:
    if marker.exists():
        return
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as exc:  # read-only state dir: the key still works, only the guard is missing
        log.warning("cannot write the device key marker %s: %s", marker, exc)


def _sync_folder(folder: Path) -> None:
    try:
        fsync_dir(folder)
    except OSError as exc:  # the key works; only its survival of a power cut is in doubt
        log.warning("cannot fsync %s: %s", folder, exc)


def _create_key(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:  # a file in the folder's place, a read-only disk: out of service, not a crash
        raise KeyFileError(f"cannot create device key {path}: {exc.strerror or exc}") from None
    try:
        # O_EXCL: two starting processes cannot both write a key; 0600 is set at creation,
        # so the key is never readable by others, even for an instant.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # the other process won: read its key
        return load_or_create_device_key(path)
    except OSError as exc:
        raise KeyFileError(f"cannot create device key {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:  # disk full: no half-written key is left to be read as a bad one later
        path.unlink(missing_ok=True)
        raise KeyFileError(f"cannot write device key {path}: {exc.strerror or exc}") from None
    # The key's name must be on disk before the marker's: after a power cut, a marker without its
    # key puts the kiosk out of service until someone restores a key that never reached the disk.
    _sync_folder(path.parent)
    _mark_issued(key_marker(path))
    _sync_folder(path.parent)
    log.info("created device key %s", path)
    return key


def read_nonce(path: str | os.PathLike) -> str | None:
    """The host's nonce from `path`, consumed (the file is removed) so one nonce binds one
    record. None when there is none; a malformed one is logged and not used."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.error("cannot read the host nonce file %s: %s", path, exc)
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(1024)
    except OSError as exc:
        log.error("cannot read the host nonce file %s: %s", path, exc)
        return None
    try:
        path.unlink()
    except OSError as exc:  # the record still binds this nonce; the host sees it used twice
        log.error("cannot remove the used host nonce file %s: %s", path, exc)
    nonce = raw.decode("ascii", "replace").strip()
    if not valid_nonce(nonce):
        log.error(
            "host nonce in %s is malformed (need 8-128 of A-Z a-z 0-9 . _ ~ + / = -); record signed without a nonce",
            path,
        )
        return None
    return nonce


# --------------------------------------------------------------------------- host side


def check_record(signed: Any, key: bytes, now: float | None = None, nonce: str | None = None) -> list[str]:
    """What is wrong with a received record for a host: bad signature, expired, missing or
    other nonce. An empty list means valid; the host must still refuse a session_id it has
    already accepted (records are valid until they expire)."""
    now = time.time() if now is None else now
    if not verify(signed, key):
        return ["signature invalid (wrong key, or a field was changed)"]
    problems = []
    try:
        expires = _parse_time(signed["expires_at"])
        finished = _parse_time(signed["finished_at"])
    except (KeyError, TypeError, ValueError):
        return ["no valid expires_at / finished_at: not a record this version can check"]
    if now >= expires:
        problems.append(f"expired at {signed['expires_at']}")
    if finished > now + 60:  # the kiosk's clock ran ahead: the expiry cannot be trusted either
        problems.append(f"finished_at {signed['finished_at']} is in the future")
    if nonce is not None and signed.get("nonce") != nonce:
        problems.append(f"nonce is {signed.get('nonce')!r}, expected {nonce!r}")
    return problems


# --------------------------------------------------------------------------- delivery


class Hook:
    """Delivers signed records; failures go to a spool file that is retried first next time."""

    def __init__(self, spool_path: str | os.PathLike | None = None):
        self.spool_path = Path(spool_path or DEFAULT_SPOOL).expanduser()
        self._lock = threading.Lock()
        # Records only memory holds, retried with every delivery. After a failed spool write
        # (disk full) they are the whole queue and the file is stale (`_file_stale`); after a
        # failed read they come on top of what the file holds.
        self._unsaved: list[bytes] = []
        self._file_stale = False

    def send(self, line: bytes) -> None:
        """Hand one JSON line to the host; raise DeliveryError (or OSError) on failure."""
        raise NotImplementedError

    def deliver(self, signed: dict) -> bool:
        """Deliver the spooled records, then this one, in order. True if this one was delivered.

        Write-ahead: the spool gets this record before anything is sent, so a power cut or a
        SIGKILL while the hook runs (up to its timeout) cannot lose it; at worst a record
        delivered just before the cut is sent again at the next start (the host refuses a
        session_id it has seen). On the first failure the rest (this record included) is written
        back to the spool; once all are delivered the spool is removed.
        """
        line = to_json_line(signed)
        with self._lock:
            try:
                spooled = [] if self._file_stale else self._read_spool()
            except OSError as exc:  # unreadable spool: do not overwrite it, keep this one in memory
                self._unsaved.append(line)
                log.error(
                    "cannot read the verdict spool %s (%s); %d record(s) kept in memory",
                    self.spool_path,
                    exc,
                    len(self._unsaved),
                )
                return False
            pending = spooled + self._unsaved + [line]
            self._save_spool(pending)  # disk full: memory holds them (logged), and they are sent all the same
            delivered = False  # this record, the last one
            for i, line in enumerate(pending):
                try:
                    self.send(line)
                    delivered = True
                    continue
                except DeliveryRefused as exc:
                    # Retried first for ever, it would hold every later record back: kept aside.
                    delivered = False
                    if self._set_aside(line, exc):
                        continue
                    failure: Exception = exc
                except Exception as exc:  # any failure: keep the record, never lose it
                    failure = exc
                log.warning(
                    "verdict delivery via %s failed (%s); %d record(s) spooled to %s",
                    self,
                    failure,
                    len(pending) - i,
                    self.spool_path,
                )
                self._save_spool(pending[i:])
                return False
            self._save_spool([])
            return delivered

    def _set_aside(self, line: bytes, why: Exception) -> bool:
        """Moves a record the host refused to `<spool>.refused`; False (it stays queued) when
        that file cannot be written."""
        refused = self.spool_path.with_name(self.spool_path.name + ".refused")
        try:
            session = json.loads(line).get("session_id")
        except (ValueError, AttributeError):
            session = "?"
        try:
            _append(refused, line, 0o600)
        except OSError as exc:
            log.error(
                "the host refused session %s (%s); it stays in the spool: cannot write %s (%s)",
                session,
                why,
                refused,
                exc,
            )
            return False
        log.error(
            "the host refused the verdict of session %s (%s); set aside in %s, the next ones go on",
            session,
            why,
            refused,
        )
        return True

    def _save_spool(self, lines: list[bytes]) -> None:
        try:
            self._write_spool(lines)
        except OSError as exc:  # disk full, read-only: keep them in memory, say so loudly
            # The file keeps its old lines (some may be delivered by now): memory is the queue
            # until a write succeeds. If the kiosk stops first, the old lines are sent again at
            # the next start (the host refuses a repeated session_id) and these are lost, as
            # the error says.
            self._unsaved, self._file_stale = list(lines), True
            log.error(
                "cannot write the verdict spool %s (%s); %d record(s) kept in memory and retried "
                "with the next delivery (lost only if the kiosk stops first)",
                self.spool_path,
                exc,
                len(lines),
            )
        else:
            self._unsaved, self._file_stale = [], False

    def held_in_memory(self) -> list[str]:
        """Session ids of the records only memory holds (the spool could not be written)."""
        ids = []
        for line in self._unsaved:
            try:
                ids.append(str(json.loads(line).get("session_id")))
            except (ValueError, AttributeError):
                ids.append("?")
        return ids

    def pending(self) -> int:
        """How many records wait in the spool or, when it could not be written, in memory."""
        return (0 if self._file_stale else len(self._read_spool())) + len(self._unsaved)

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
            try:
                _append(corrupt, b"".join(bad), 0o600)
                log.error("%d unreadable line(s) in the verdict spool moved to %s", len(bad), corrupt)
            except OSError as exc:
                log.error(
                    "%d unreadable line(s) in the verdict spool %s could not be set aside (%s)",
                    len(bad),
                    self.spool_path,
                    exc,
                )
        return lines

    def _write_spool(self, lines: list[bytes]) -> None:
        if not lines:
            self.spool_path.unlink(missing_ok=True)
            return
        self.spool_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomically(self.spool_path, b"".join(lines))


def _append(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
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
    """Runs a program (no shell) with the record as one JSON line on stdin; exit 0 = delivered.

    Its stdout is discarded and only the first few KB of its stderr are kept (a hook that prints
    300 MB costs no memory). Delivery is decided by the program's own exit: a background child
    it leaves holding stderr does not turn a delivered record into a timeout (and a resend).
    On timeout the program's whole process group is killed.
    """

    def __init__(self, argv: list[str] | str, timeout_s: float = 5.0, spool_path: str | os.PathLike | None = None):
        super().__init__(spool_path)
        self.argv = _split_command(argv) if isinstance(argv, str) else [str(a) for a in argv]
        if not self.argv:
            raise ValueError("CommandHook needs a program to run")
        self.timeout_s = float(timeout_s)

    def send(self, line: bytes) -> None:
        deadline = time.monotonic() + self.timeout_s
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                shell=False,
                start_new_session=True,
            )
        except OSError as exc:
            raise DeliveryError(f"command could not start: {exc}") from None
        assert proc.stdin is not None and proc.stderr is not None
        try:
            try:
                proc.stdin.write(line)  # one record is far below a pipe's buffer: never blocks
                proc.stdin.close()
            except BrokenPipeError:  # it did not read its input: its exit status still decides
                pass
            err = _drain_until_exit(proc, deadline)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise DeliveryError(f"command timed out after {self.timeout_s:g} s") from None
        finally:
            proc.stderr.close()
        if proc.returncode != 0:
            text = err.decode("utf-8", "replace").strip()[:200]
            raise DeliveryError(f"command exited with {proc.returncode}: {text}")

    def __repr__(self) -> str:
        return f"CommandHook({self.argv!r})"


def _drain_until_exit(proc: subprocess.Popen, deadline: float) -> bytes:
    """Read proc's stderr (keeping the first HOOK_OUTPUT_BYTES) until proc exits; raise
    TimeoutExpired at the deadline. Does not wait for EOF after the exit: a background child
    may hold the pipe open for as long as it likes."""
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    os.set_blocking(fd, False)
    kept = bytearray()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        eof = False
        while proc.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, 0)
            if eof:
                proc.wait(timeout=left)
                break
            if not sel.select(min(left, 0.05)):
                continue
            chunk = _read_some(fd)
            if chunk == b"":
                eof = True
                sel.unregister(fd)
            elif chunk and len(kept) < HOOK_OUTPUT_BYTES:
                kept += chunk[: HOOK_OUTPUT_BYTES - len(kept)]
        if not eof:  # what it wrote just before exiting
            chunk = _read_some(fd)
            if chunk and len(kept) < HOOK_OUTPUT_BYTES:
                kept += chunk[: HOOK_OUTPUT_BYTES - len(kept)]
    return bytes(kept)


def _read_some(fd: int) -> bytes | None:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _split_command(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:  # "No closing quotation"
        raise ValueError(f"command cannot be split into arguments: {exc}") from None


class HttpHook(Hook):
    """POSTs the record as JSON; any 2xx answer = delivered, 400/409/410/422 = refused for good
    (set aside), anything else = retried later. No proxies, no redirects.

    `timeout_s` bounds the whole request (name lookup, connect, send, every read): a host that
    trickles its answer a byte at a time would otherwise hold the delivery for ever, with this
    record in memory only and every later verdict queued behind it."""

    def __init__(self, url: str, timeout_s: float = 5.0, spool_path: str | os.PathLike | None = None):
        super().__init__(spool_path)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"HttpHook needs an http:// or https:// URL, got {url!r}")
        self.url = url
        self.timeout_s = float(timeout_s)

    def send(self, line: bytes) -> None:
        # One deadline enforced on the socket itself, no proxy (the host is local; an
        # environment proxy must not see or divert verdicts), a redirect returned as its status
        # (a failed delivery, not a silent GET elsewhere).
        try:
            answer = net.post(
                self.url, {"Content-Type": "application/json"}, line, self.timeout_s, user_agent="kiosk-verdict"
            )
        except net.TransportError as exc:
            raise DeliveryError(f"HTTP request failed: {exc}") from None
        if answer.status in REFUSED_STATUSES:
            raise DeliveryRefused(f"HTTP {answer.status}")
        if not 200 <= answer.status < 300:
            raise DeliveryError(f"HTTP {answer.status}")

    def __repr__(self) -> str:
        return f"HttpHook({self.url!r})"


HOOK_FORMS = "empty, file:PATH, command:PROGRAM ARGS or an http(s)://HOST/... URL"
WAITING = "; verdicts wait in the spool until it is fixed"


def parse_hook(spec: str) -> tuple[str, str | list[str]]:
    """("none", ""), ("file", path), ("command", argv) or ("http", url) from a `verdict.hook`
    string; ValueError saying what is wrong. The config check and delivery both use this."""
    hook = str(spec).strip()
    if not hook:
        return "none", ""
    if hook.startswith("file:"):
        path = hook[len("file:") :].strip()
        if not path:
            raise ValueError("file: needs a path, e.g. file:/var/lib/kiosk/verdicts.jsonl")
        return "file", path
    if hook.startswith("command:"):
        argv = _split_command(hook[len("command:") :])
        if not argv:
            raise ValueError("command: needs a program, e.g. command:/usr/local/bin/on-verdict")
        return "command", argv
    if hook.startswith(("http://", "https://")):
        try:
            parts = urllib.parse.urlsplit(hook)
            _ = parts.port  # raises ValueError on a port that is not a number
        except ValueError as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if not parts.hostname:
            raise ValueError(f"the URL {hook!r} has no host")
        return "http", hook
    raise ValueError(f"must be {HOOK_FORMS}, got {hook!r}")


def hook_problems(spec: str) -> list[str]:
    """What would keep a valid `verdict.hook` from delivering as things stand (a program that is
    not there, a file that cannot be written), or that there is none. Not config errors: the
    program may be installed after the kiosk, and until then verdicts wait in the spool; no hook
    suits a demonstration. check-config prints them as notes and `run` logs them, so a typo or a
    forgotten hook is not found only when the host misses its verdicts."""
    try:
        kind, target = parse_hook(spec)
    except ValueError:
        return []  # the config check reports it
    if kind == "none":
        return [
            f"verdict.hook is empty: verdicts are signed and shown, then dropped, not sent to any host ({HOOK_FORMS})"
        ]
    if kind == "command":
        program = str(target[0])
        found = shutil.which(program) if os.sep not in program else program
        if not found or not os.path.isfile(found):
            return [f"verdict.hook: program {program!r} not found{WAITING}"]
        if not os.access(found, os.X_OK):
            return [f"verdict.hook: {found} is not executable{WAITING}"]
    if kind == "file":
        path = Path(str(target)).expanduser()
        if path.exists():
            if not path.is_file():
                return [f"verdict.hook: {path} is not a regular file{WAITING}"]
            if not os.access(path, os.W_OK):
                return [f"verdict.hook: no permission to write {path}{WAITING}"]
        else:
            problem = _creation_problem(path)
            if problem:
                return [f"verdict.hook: cannot create {path}: {problem}{WAITING}"]
    return []


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
    kind, target = parse_hook(config.get("hook", ""))
    if kind == "file":
        return FileHook(str(target), spool)
    if kind == "command":
        return CommandHook(list(target), timeout_s, spool)
    if kind == "http":
        return HttpHook(str(target), timeout_s, spool)
    return NullHook(spool)
