"""Verdict delivery under faults: hooks that hang, flood, fail or leave a child behind, a full
disk for the spool, and replays. Each asserts that the kiosk side keeps going and no verdict is
lost or sent twice."""

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kiosk import verdict
from kiosk.verdict import CommandHook, FileHook, HttpHook, make_record, sign

from conftest import make_cfg

KEY = bytes(range(1, 33))
T0 = 1_790_000_000.0


def signed(i: int, **kw) -> dict:
    return sign(
        make_record(
            f"s{i}", i % 2 == 0, 0, ["head_pose"], {"liveness": "1"}, T0 + i, T0 + i + 1, "kiosk-1", valid_s=300, **kw
        ),
        KEY,
    )


def host_script(tmp_path: Path, body: str) -> list[str]:
    """A hook program: appends its stdin to host.jsonl, then does `body` (Python)."""
    script = tmp_path / "hook.py"
    script.write_text(
        "import sys, os, subprocess, time\n"
        f"open({str(tmp_path / 'host.jsonl')!r}, 'ab').write(sys.stdin.buffer.read())\n" + body
    )
    return [sys.executable, str(script)]


def host_ids(tmp_path: Path) -> list[str]:
    f = tmp_path / "host.jsonl"
    return [json.loads(x)["session_id"] for x in f.read_text().splitlines()] if f.exists() else []


def wait_gone(pid: int, deadline_s: float = 10.0) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_hanging_hook_times_out_is_killed_and_its_record_is_delivered_later(tmp_path):
    pidfile = tmp_path / "child.pid"
    argv = host_script(
        tmp_path,
        f"p = subprocess.Popen(['sleep', '60']); open({str(pidfile)!r}, 'w').write(str(p.pid)); time.sleep(60)\n",
    )
    hook = CommandHook(argv, timeout_s=2.0, spool_path=tmp_path / "spool.jsonl")
    t0 = time.monotonic()
    assert hook.deliver(signed(0)) is False
    assert time.monotonic() - t0 < 6
    assert hook.pending() == 1
    assert wait_gone(int(pidfile.read_text())), "the hook's whole process group is killed"
    good = FileHook(tmp_path / "host2.jsonl", spool_path=tmp_path / "spool.jsonl")
    assert good.deliver(signed(1))
    assert [json.loads(x)["session_id"] for x in (tmp_path / "host2.jsonl").read_text().splitlines()] == ["s0", "s1"]


def test_a_kiosk_killed_while_its_hook_runs_delivers_that_record_after_the_restart(tmp_path):
    # Write-ahead: the record is in the spool while the hook runs (up to its timeout), so a
    # SIGKILL or a power cut in that window does not lose it.
    started = tmp_path / "hook.pid"
    argv = host_script(tmp_path, f"open({str(started)!r}, 'w').write(str(os.getpid())); time.sleep(60)\n")
    kiosk = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, sys\n"
            "from kiosk.verdict import CommandHook\n"
            "CommandHook(json.loads(sys.argv[1]), 30, sys.argv[2]).deliver(json.loads(sys.argv[3]))\n",
            json.dumps(argv),
            str(tmp_path / "spool.jsonl"),
            json.dumps(signed(0)),
        ],
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
    )
    end = time.monotonic() + 30
    while not (started.exists() and started.read_text()) and time.monotonic() < end:
        time.sleep(0.05)
    kiosk.kill()  # SIGKILL mid-send: nothing of the kiosk's runs after this
    kiosk.wait()
    os.kill(int(started.read_text()), signal.SIGKILL)  # the hook: its own session, not killed with the kiosk
    (tmp_path / "host.jsonl").unlink()  # the host never answered: it did not take the record
    restarted = FileHook(tmp_path / "host.jsonl", spool_path=tmp_path / "spool.jsonl")
    assert restarted.deliver(signed(1))
    assert host_ids(tmp_path) == ["s0", "s1"]
    assert restarted.pending() == 0 and not (tmp_path / "spool.jsonl").exists()


def test_a_host_trickling_its_answer_cannot_hold_a_delivery_past_its_timeout(tmp_path):
    # A host that sends a byte of its answer now and then: every single read is within the
    # socket timeout, so only a deadline on the whole request ends it. Until it ends, the record
    # is in memory only and every later verdict queues behind it.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    stop = threading.Event()

    def trickle():
        conn, _ = srv.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if stop.wait(0.2):  # the pace of the fault, not a wait for the code under test
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:  # the kiosk gave up and closed: what it should do
                    return

    server = threading.Thread(target=trickle, daemon=True)
    server.start()
    hook = HttpHook(f"http://127.0.0.1:{srv.getsockname()[1]}/v", timeout_s=1.0, spool_path=tmp_path / "spool.jsonl")
    result: list[bool] = []
    delivery = threading.Thread(target=lambda: result.append(hook.deliver(signed(0))), daemon=True)
    t0 = time.monotonic()
    delivery.start()
    delivery.join(timeout=8)
    stop.set()
    server.join(timeout=5)
    srv.close()
    assert result == [False], f"delivery still running after {time.monotonic() - t0:.1f} s with timeout_s=1"
    assert hook.pending() == 1
    good = FileHook(tmp_path / "host2.jsonl", spool_path=tmp_path / "spool.jsonl")
    assert good.deliver(signed(1))
    assert [json.loads(x)["session_id"] for x in (tmp_path / "host2.jsonl").read_text().splitlines()] == ["s0", "s1"]


def test_a_hook_flooding_300_mb_is_not_buffered(tmp_path):
    flood = (
        "chunk = b'x' * (1 << 20)\n"
        "for _ in range(300):\n    sys.stdout.buffer.write(chunk)\n    sys.stderr.buffer.write(chunk)\n"
    )
    hook = CommandHook(host_script(tmp_path, flood), timeout_s=60, spool_path=tmp_path / "spool.jsonl")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert hook.deliver(signed(0)) is True
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50, f"peak memory grew {grown_mb:.0f} MB for 600 MB of hook output"
    assert host_ids(tmp_path) == ["s0"] and hook.pending() == 0


def test_a_failing_hook_spools_and_says_why(tmp_path, caplog):
    hook = CommandHook(
        host_script(tmp_path, "sys.stderr.write('host said no' + 'x' * 100000); sys.exit(3)\n"),
        timeout_s=10,
        spool_path=tmp_path / "spool.jsonl",
    )
    assert hook.deliver(signed(0)) is False and hook.deliver(signed(1)) is False
    assert hook.pending() == 2
    assert "exited with 3: host said no" in caplog.text
    assert len(caplog.text) < 20_000, "the hook's output is cut for the log"


def test_a_hook_that_exits_0_leaving_a_child_on_its_output_is_delivered_once(tmp_path):
    pidfile = tmp_path / "child.pid"
    body = (
        f"p = subprocess.Popen(['sleep', '60'], stdout=sys.stdout, stderr=sys.stderr)\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\nsys.exit(0)\n"
    )
    hook = CommandHook(host_script(tmp_path, body), timeout_s=5.0, spool_path=tmp_path / "spool.jsonl")
    try:
        t0 = time.monotonic()
        assert hook.deliver(signed(0)) is True
        assert time.monotonic() - t0 < 4, "decided by the hook's exit, not by its child's pipe"
        assert hook.deliver(signed(1)) is True
        assert host_ids(tmp_path) == ["s0", "s1"], "delivered once each, nothing resent"
        assert hook.pending() == 0
    finally:
        for line in [pidfile.read_text()] if pidfile.exists() else []:
            try:
                os.kill(int(line), signal.SIGKILL)
            except ProcessLookupError:
                pass


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 1024)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


@pytest.fixture()
def tiny_disk(tmp_path):
    """A 64 KB tmpfs (we run as root in CI); without mount rights, ENOSPC is raised at the edge."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_for_host_file_and_spool_keeps_records_in_memory_until_space_returns(tiny_disk, caplog):
    hook = FileHook(tiny_disk / "verdicts.jsonl", spool_path=tiny_disk / "spool.jsonl")
    filler = _fill(tiny_disk)
    results = [hook.deliver(signed(i)) for i in range(5)]
    assert results == [False] * 5
    assert hook.pending() == 5
    assert "kept in memory" in caplog.text
    assert hook.held_in_memory() == [f"s{i}" for i in range(5)]
    filler.unlink()
    assert hook.deliver(signed(5)) is True
    lines = (tiny_disk / "verdicts.jsonl").read_text().splitlines()
    assert [json.loads(x)["session_id"] for x in lines] == [f"s{i}" for i in range(6)], "in order, none lost"
    assert all(verdict.verify(json.loads(x), KEY) for x in lines)
    assert hook.pending() == 0 and not (tiny_disk / "spool.jsonl").exists()


def test_disk_full_for_the_spool_only_at_the_write_edge(tmp_path, monkeypatch, caplog):
    """The same without a mount: os.replace of the spool fails with ENOSPC."""
    import errno

    from kiosk import files

    hook = CommandHook([sys.executable, "-c", "import sys; sys.exit(1)"], spool_path=tmp_path / "spool.jsonl")
    real_replace = files.os.replace

    def full(*a):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full)
    assert hook.deliver(signed(0)) is False and hook.deliver(signed(1)) is False
    assert hook.pending() == 2 and "kept in memory" in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == [], "no temporary file is left behind"
    monkeypatch.setattr(files.os, "replace", real_replace)
    ok = FileHook(tmp_path / "host.jsonl", spool_path=tmp_path / "spool.jsonl")
    ok._unsaved = hook._unsaved  # the same kiosk process: its memory is still there
    assert ok.deliver(signed(2))
    assert [json.loads(x)["session_id"] for x in (tmp_path / "host.jsonl").read_text().splitlines()] == [
        "s0",
        "s1",
        "s2",
    ]


def test_the_spool_never_follows_a_planted_tmp_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "spool.jsonl.tmp").symlink_to(victim)
    hook = CommandHook([sys.executable, "-c", "import sys; sys.exit(1)"], spool_path=tmp_path / "spool.jsonl")
    assert hook.deliver(signed(0)) is False
    assert victim.read_text() == "precious"
    assert (tmp_path / "spool.jsonl").stat().st_mode & 0o077 == 0


def test_a_replayed_record_is_caught_by_expiry_nonce_and_the_printed_host_checks(tmp_path):
    """Through the reporter and `kiosk verify-record`, as a host would: the host's nonce is bound
    into the record, an old record expires, a tampered one fails; uniqueness is named as the host's job."""
    from kiosk.reporting import VerdictReporter

    out, nonce_file = tmp_path / "verdicts.jsonl", tmp_path / "nonce"
    cfg = make_cfg(tmp_path, verdict={"hook": f"file:{out}", "nonce_file": str(nonce_file), "valid_s": 60})
    reporter = VerdictReporter(cfg, {"liveness": "1"})
    session = type(
        "S",
        (),
        dict(session_id="sess-42", started_at=0.0, finished_at=5.0, result="passed", levels_passed=2, challenges=[]),
    )()
    nonce_file.write_text("host-nonce-abc123\n")
    try:
        assert reporter.submit(session).result(timeout=10)
        assert reporter.submit(session).result(timeout=10)  # no nonce waiting any more
    finally:
        reporter.close()
    first, second = [json.loads(x) for x in out.read_text().splitlines()]
    assert first["nonce"] == "host-nonce-abc123" and "nonce" not in second and not nonce_file.exists()
    key = str(tmp_path / "device.key")

    def check(text: str, *args: str) -> tuple[int, list[dict]]:
        done = subprocess.run(
            [sys.executable, "-m", "kiosk", "verify-record", "-", "--key", key, *args],
            input=text,
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
        )
        return done.returncode, [json.loads(x) for x in done.stdout.splitlines()]

    line = json.dumps(first) + "\n"
    rc, [res] = check(line, "--nonce", "host-nonce-abc123")
    assert rc == 0 and res["valid"] and "sess-42" in res["host_must_check"]
    rc, [res] = check(line, "--nonce", "another-nonce-1")
    assert rc == 1 and any("nonce" in p for p in res["problems"])
    rc, [res] = check(line, "--now", str(time.time() + 61))
    assert rc == 1 and any("expired" in p for p in res["problems"])
    rc, [res] = check(json.dumps({**first, "verdict": "fail"}) + "\n")
    assert rc == 1 and "signature" in res["problems"][0]


class FlakyHost(verdict.Hook):
    """A host that can be down; records what it received."""

    def __init__(self, spool_path):
        super().__init__(spool_path)
        self.down = False
        self.got: list[str] = []

    def send(self, line: bytes) -> None:
        if self.down:
            raise verdict.DeliveryError("host down")
        self.got.append(json.loads(line)["session_id"])


def test_host_down_then_disk_full_then_both_back_delivers_each_record_once(tmp_path, monkeypatch):
    import errno

    from kiosk import files

    host = FlakyHost(tmp_path / "spool.jsonl")
    host.down = True
    assert not host.deliver(signed(0))  # spooled on disk
    real_replace = files.os.replace

    def full(*a):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full)
    host.down = False
    host.got.clear()
    original_send = host.send  # the host comes back for one record, then goes down again

    def send_then_down(line: bytes) -> None:
        original_send(line)
        host.down = True

    monkeypatch.setattr(host, "send", send_then_down)
    assert not host.deliver(signed(1))  # s0 delivered, s1 not; the spool cannot be rewritten
    monkeypatch.setattr(host, "send", original_send)
    assert host.got == ["s0"] and host.pending() == 1
    assert not host.deliver(signed(2))  # still down, disk still full: memory holds s1, s2
    monkeypatch.setattr(files.os, "replace", real_replace)
    host.down = False
    assert host.deliver(signed(3))
    assert host.got == ["s0", "s1", "s2", "s3"], "each exactly once, in order"
    assert host.pending() == 0
