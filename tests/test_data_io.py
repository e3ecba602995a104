"""Atomic output writing (connection._io): permissions of the files written, also from threads."""

from __future__ import annotations

import os
import stat
import sys
import threading

import pytest

from connection import _io

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes and umask are POSIX")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield 0o022
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_umask_is_read_without_changing_it(mask):
    old = os.umask(mask)
    try:
        assert _io._umask() == mask
        assert os.umask(mask) == mask      # still the process's umask
    finally:
        os.umask(old)


def test_written_files_get_the_mode_of_an_ordinary_file(tmp_path, umask_022):
    path = _io.write_text(tmp_path / "a" / "out.txt", "x\n")
    assert _mode(path) == 0o644
    assert path.read_text(encoding="utf-8") == "x\n"


def _hammer(n_threads: int, work, seconds_switch: float = 1e-6):
    """Run ``work(k)`` in ``n_threads`` threads with a tiny switch interval (forcing the
    interleavings a race needs), re-raising the first failure."""
    errors: list[BaseException] = []
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds_switch)
    try:
        def run(k):
            try:
                work(k)
            except BaseException as err:  # noqa: BLE001 - collected and re-raised
                errors.append(err)
        threads = [threading.Thread(target=run, args=(k,)) for k in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]


def test_files_written_concurrently_all_get_the_right_mode(tmp_path, umask_022):
    def work(k):
        for j in range(150):
            _io.write_text(tmp_path / f"t{k}" / f"f{j}.txt", f"{k} {j}\n")
    _hammer(6, work)
    modes = {str(p): _mode(p) for p in tmp_path.rglob("*.txt")}
    assert len(modes) == 6 * 150
    assert set(modes.values()) == {0o644}, sorted(
        (n, oct(m)) for n, m in modes.items() if m != 0o644)[:5]
    assert {_mode(d) for d in tmp_path.iterdir()} == {0o755}


def test_reading_the_umask_never_opens_a_window_for_other_threads(tmp_path, umask_022):
    """Files another thread creates (plain os.open, not through _io) while _io reads the umask
    keep the process's umask: the old swap set it to 0 for a moment (world-writable files)."""
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            _io._umask()

    modes = []
    readers = [threading.Thread(target=reader) for _ in range(3)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in readers:
            t.start()
        for j in range(3000):
            p = tmp_path / f"plain{j}"
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o666))
            modes.append(_mode(p))
    finally:
        stop.set()
        for t in readers:
            t.join()
        sys.setswitchinterval(old)
    assert set(modes) == {0o644}, f"{sum(m != 0o644 for m in modes)} files got a looser mode"


def test_without_proc_the_locked_swap_gives_the_same_umask_from_threads(tmp_path, umask_022,
                                                                        monkeypatch):
    """Where /proc/self/status has no Umask line (macOS, old kernels), the swap runs under a
    lock: threads reading at once all get the umask, and it is never left changed."""
    monkeypatch.setattr(_io, "_umask_from_proc", lambda: None)
    seen: list[int] = []

    def work(k):
        for _ in range(2000):
            seen.append(_io._umask())
    _hammer(6, work)
    assert set(seen) == {0o022} and len(seen) == 12000
    assert os.umask(0o022) == 0o022
    _hammer(4, lambda k: [_io.write_text(tmp_path / f"w{k}_{j}.txt", "x")
                          for j in range(100)])
    assert {_mode(p) for p in tmp_path.glob("w*.txt")} == {0o644}


def test_proc_reader_matches_the_swap_where_there_is_proc(umask_022):
    mask = _io._umask_from_proc()
    if mask is None:
        pytest.skip("no Umask line in /proc/self/status here")
    assert mask == 0o022
