"""Small file helpers for the kiosk's own state (lockout state, verdict spool, device key)."""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write-then-rename: a crash mid-write leaves the old file, never a half one.

    The temporary file is new and unpredictable (mkstemp: O_CREAT|O_EXCL, mode 0600, in the same
    folder so the rename stays on one file system): a symlink planted at a fixed `.tmp` name
    cannot redirect the write. On any error the temporary file is removed and the error raised.
    The folder is fsynced after the rename: until then a power cut can bring the old file back.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a rename, a new or removed file) survive a power cut. A file
    system that cannot fsync a folder (EINVAL) is left as it is; other errors are raised."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
    finally:
        os.close(fd)


INSTANCE_LOCK = "kiosk-run.lock"


class AlreadyRunning(RuntimeError):
    """Another process holds the single-instance lock on a state folder."""


def lock_instance(folder: Path) -> int:
    """Take the single-instance lock of `kiosk run` on a state folder: an open file descriptor
    that holds it until it is closed or the process ends (a crash or SIGKILL frees it too).
    AlreadyRunning, naming the holder's pid, when another process has it; OSError when the
    lock file cannot be made."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / INSTANCE_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise AlreadyRunning(f"another kiosk (pid {holder}) is running on {folder} (lock {path})") from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)  # the holder's pid, for the message above and for the operator
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd
