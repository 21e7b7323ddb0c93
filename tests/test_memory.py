"""kiosk.memory: glibc's heap gives freed memory back, and an operator's MALLOC_ARENA_MAX wins."""

import subprocess
import sys

import pytest

from kiosk import memory

glibc_only = pytest.mark.skipif(memory._LIBC is None, reason="not glibc")

# 100k blocks of 2 KB (each one malloc'd: above pymalloc's 512 bytes), then all but every 100th
# freed: the heap is full of holes glibc keeps (the live blocks pin its top), about 200 MB resident.
FRAGMENT = """
import sys
from kiosk.memory import release_free_heap

def rss_mb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:")) / 1024

blocks = [bytes(2048) + bytes([i % 256]) for i in range(100_000)]
kept = blocks[::100]
del blocks
before = rss_mb()
release_free_heap()
print(before, rss_mb())
"""


@glibc_only
def test_the_free_heap_goes_back_to_the_system():
    out = subprocess.run([sys.executable, "-c", FRAGMENT], capture_output=True, text=True, check=True, timeout=120)
    before, after = map(float, out.stdout.split())
    assert before - after > 100, f"RSS {before:.0f} MB -> {after:.0f} MB after release_free_heap()"


@glibc_only
def test_an_operators_malloc_arena_max_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert memory.limit_arenas() is True
