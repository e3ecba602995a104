"""Atomic output writing and hashing shared by studies, results and the index file.

Outputs are written to a temporary file in the target folder and renamed into place, so a
crash never leaves a half-written table, and readers never see one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "write_text", "write_json", "write_csv", "sha256_file", "sha256_bytes"]


def atomic_write(path: str | os.PathLike, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` then rename ``tmp_path`` onto ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        # mkstemp creates the file 0600; give the output the permissions of an ordinary file
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask, read without opening a window for other threads.

    Python has no call that only reads the umask: ``os.umask`` sets one and returns the old.
    Swapping in 0 and back let a file another thread created in between be world-writable, and
    two threads swapping at once could leave the umask at 0 for good. On Linux the umask is
    read from ``/proc/self/status`` (nothing is changed); elsewhere the swap runs under a lock
    (so no two swaps interleave) and puts in ``0o077`` for its moment, so a file another thread
    creates then is at worst more private, never more open.
    """
    mask = _umask_from_proc()
    if mask is not None:
        return mask
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _umask_from_proc() -> int | None:
    """The ``Umask:`` line of ``/proc/self/status`` (Linux 4.7 and later), else None."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        return None
    return None


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) atomically."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8", newline="\n"))


def _json_default(obj: Any):
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as sorted, indented JSON atomically (byte-identical for equal input)."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default, allow_nan=True)
    return write_text(path, text + "\n")


def write_csv(path: str | os.PathLike, frame, *, float_format: str = "%.10g", **kwargs) -> Path:
    """Write a DataFrame as CSV atomically, with a fixed float format for reproducible bytes."""
    kwargs.setdefault("index", False)
    return atomic_write(
        path, lambda p: frame.to_csv(p, float_format=float_format, lineterminator="\n", **kwargs)
    )


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
