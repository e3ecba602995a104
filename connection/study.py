"""A study run writes one results folder: tables, numbers, figures and a provenance manifest.

::

    results/<study>/
      tables/*.csv        tidy tables (fixed float format: byte-identical for the same seed)
      figures/*.png|pdf   figures (no dates in their metadata)
      numbers.json        every number the paper may cite, nested by dotted key, and under
                          "_flags" the numbers that come from a doubtful solution
      manifest.json       seed, argv, config and its hash, data hash, package versions,
                          git commit, timings per step, flags, and the sha256 of every output

Only ``manifest.json`` changes between two runs with the same seed (its timings).

A folder holds one complete run or nothing. A run writes into a staging folder beside ``out``
(``<out>.staging-<pid>``) and :meth:`Study.finish` swaps it in whole (two renames); a run that
fails, is interrupted or killed leaves the previous complete run as it was. A lock file beside
the folder (``.<out>.lock``, an OS lock released when the process dies) refuses a second run into
the same folder while one runs. A folder that holds an input of the run, or files that are not
this study's outputs, is refused (:class:`~connection.errors.ResultsFolderError`).

Examples
--------
>>> import tempfile, pandas as pd
>>> from pathlib import Path
>>> from connection.study import Study
>>> out = Path(tempfile.mkdtemp()) / "demo"
>>> study = Study("demo", out, seed=1, config={"n": 10}, verbose=False)
>>> with study.step("means"):
...     path = study.table("means", pd.DataFrame({"x": [1.0, 2.5]}))
...     study.number("means.x", 1.75)
>>> out.exists()  # nothing is in place before the run finishes
False
>>> manifest = study.finish()
>>> sorted(manifest["outputs"])
['numbers.json', 'tables/means.csv']
>>> study.numbers
{'means': {'x': 1.75}}
>>> sorted(p.name for p in out.iterdir())
['manifest.json', 'numbers.json', 'tables']
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from connection._flags import Flag, format_flags
from connection._io import sha256_bytes, sha256_file, write_csv, write_json
from connection.errors import (
    ArgumentError,
    ConfigError,
    ConnectionPackageError,
    DataError,
    ResultsFolderError,
    UndecodableFileError,
)

__all__ = ["Study", "package_versions", "git_state", "round_sig", "run_cli", "ArgumentParser",
           "study_parser", "parse_study_args", "flags_from_warnings",
           "read_toml", "setting", "check_argument", "check_results_folder", "as_package_error",
           "one_line", "worker_pool"]

#: the package and its runtime dependencies, recorded in every manifest (pingouin is no longer
#: one: a package that is not installed is left out of the record, not an error)
_PACKAGES = ("connection", "numpy", "pandas", "scipy", "statsmodels", "seaborn", "matplotlib",
             "pyreadstat", "pyyaml", "pyarrow", "threadpoolctl", "tqdm")


def package_versions(names: Iterable[str] = _PACKAGES) -> dict[str, str]:
    """Installed versions of the package and its runtime dependencies (``names``), for the
    manifest; a package that is not installed is left out. The package itself, run from a
    source tree that was never installed, gives its ``__version__``.

    >>> versions = package_versions(["numpy", "no-such-package-x"])
    >>> list(versions) == ["numpy"]
    True
    """
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            # the parent package is loaded before this module (no import: it is a higher layer)
            version = getattr(sys.modules.get(name), "__version__", None)
            if name == "connection" and version is not None:
                out[name] = str(version)
    return out


def git_state(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The git commit of the working tree holding ``path`` and whether it has changes."""
    cwd = Path(path or Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                    cwd=cwd, capture_output=True, text=True, timeout=10,
                                    check=True).stdout.strip())
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def round_sig(value: Any, digits: int = 10) -> Any:
    """Round floats (also inside dicts/lists) to ``digits`` significant digits for stable JSON."""
    if isinstance(value, dict):
        return {str(k): round_sig(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [round_sig(v, digits) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalar
    if isinstance(value, float):
        if not math.isfinite(value) or value == 0.0:
            return value if math.isfinite(value) else None
        return float(f"{value:.{digits}g}")
    return value




# ---------------------------------------------------------------------------------- the folder
_TMP_FILE = re.compile(r"^\..+\.tmp$")          # atomic_write's temporary files


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class _Lock:
    """An exclusive lock on a file beside the results folder, released when the process dies.

    ``fcntl.flock`` where available (POSIX), ``msvcrt.locking`` on Windows; elsewhere a pid file
    created exclusively, taken over when the process that wrote it is gone.
    """

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None
        self.kind = ""

    def acquire(self, owner: str) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            fcntl = None
        if fcntl is not None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                self._refuse()
            self.fd, self.kind = fd, "flock"
        else:  # pragma: no cover - Windows / exotic platforms
            try:
                import msvcrt
            except ImportError:
                msvcrt = None
            if msvcrt is not None:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
                try:
                    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                except OSError:
                    os.close(fd)
                    self._refuse()
                self.fd, self.kind = fd, "msvcrt"
            else:
                self._acquire_pidfile()
                return
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.write(self.fd, owner.encode("utf-8", "replace")[:4000])

    def _acquire_pidfile(self) -> None:  # pragma: no cover - only without fcntl and msvcrt
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                if _pid_alive(self._holder_pid()):
                    self._refuse()
                self.path.unlink(missing_ok=True)  # a stale lock of a killed run
                continue
            os.write(fd, f"{os.getpid()}\n".encode())
            self.fd, self.kind = fd, "pidfile"
            return
        self._refuse()

    def _holder_pid(self) -> int:
        try:
            return int(self.path.read_text(encoding="utf-8", errors="replace").split()[0])
        except (OSError, ValueError, IndexError):
            return -1

    def _refuse(self):
        pid = self._holder_pid()
        who = f"process {pid}" if pid > 0 else "another process"
        raise ResultsFolderError(
            f"another run is writing this results folder right now ({who} holds the lock "
            f"{self.path.name})", file=str(self.path.parent / self.path.name[1:-5]),
            hint="Wait until it has finished, or pass another --out")

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is None:
            return
        try:
            if self.kind == "flock":
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_UN)
            elif self.kind == "msvcrt":  # pragma: no cover
                import msvcrt

                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
        finally:
            os.close(fd)
            if self.kind == "pidfile":  # pragma: no cover
                self.path.unlink(missing_ok=True)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() or p.is_symlink())


def check_results_folder(out: str | os.PathLike, name: str,
                         inputs: Iterable[str | os.PathLike | None] = ()) -> None:
    """Refuse a results folder that a run of study ``name`` must not replace.

    Refused (:class:`~connection.errors.ResultsFolderError`): a path that is a file or a
    symbolic link; a folder holding one of ``inputs`` (the data, codebook or config of the run);
    a folder that is not empty and holds no ``manifest.json`` of study ``name``, or holds a file
    (at any depth: ``tables/``, ``figures/``, ``index/`` too) that its manifest does not list.
    A run replaces the whole folder, so such a file would be deleted; only the temporary files
    of a killed writer (``.*.tmp``) are removed without asking.
    """
    out = Path(out)
    target = out.resolve()
    for item in inputs:
        if item is None:
            continue
        src = Path(item).resolve()
        if src == target or _inside(src, target):
            raise ResultsFolderError(
                "the results folder holds an input of this run; a run replaces its whole "
                "results folder, so it would destroy the input", file=str(out),
                values=[str(item)], hint="Pass another --out folder, one that holds none of "
                                         "the run's inputs")
    if out.is_symlink():
        raise ResultsFolderError("the results folder is a symbolic link", file=str(out),
                                 hint="Pass the folder it points to as --out")
    if not out.exists():
        return
    if not out.is_dir():
        raise ResultsFolderError("the results folder is a file, not a folder", file=str(out),
                                 hint="Pass another --out")
    present = _files(out)
    if not present:
        return
    manifest_path = out / "manifest.json"
    manifest = None
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            manifest = None
    if not isinstance(manifest, dict) or manifest.get("study") != name:
        what = ("holds no manifest.json" if not manifest_path.is_file() else
                "has a manifest.json that cannot be read" if not isinstance(manifest, dict) else
                f"holds the results of study {manifest.get('study')!r}")
        entries = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir())
        raise ResultsFolderError(
            f"the results folder is not empty and {what}: it is not a results folder of study "
            f"{name!r}, and a run replaces its whole results folder", file=str(out),
            values=entries[:5] + ([f"... ({len(entries)} entries)"] if len(entries) > 5 else []),
            hint="Pass an empty or new --out folder, or move those files away first")
    listed = manifest.get("outputs")
    listed = set(listed) if isinstance(listed, dict) else set()
    # every file the last run's manifest does not list is someone else's, also inside tables/,
    # figures/ or index/: the swap would delete it
    foreign = [rel for rel in present
               if rel != "manifest.json" and rel not in listed
               and not _TMP_FILE.match(Path(rel).name)]
    if foreign:
        raise ResultsFolderError(
            f"the results folder of study {name!r} holds {len(foreign)} file(s) that are not "
            "outputs of the study (its manifest.json does not list them); a run replaces its "
            "whole results folder and would delete them", file=str(out),
            values=foreign[:5] + ([f"... ({len(foreign)} files)"] if len(foreign) > 5 else []),
            hint="Move those files out of the folder first, or pass another --out")


class _Folder:
    """The staging folder and lock of one run (kept apart from the Study so that a finalizer
    can release them when a Study is dropped without finishing)."""

    def __init__(self, out: Path):
        # normalised, so that `--out .` or `--out a/..` name the folder itself (not "." inside it)
        out = Path(os.path.abspath(out))
        self.out = out
        self.parent = out.parent
        self.staging = self.parent / f"{out.name}.staging-{os.getpid()}"
        self.lock = _Lock(self.parent / f".{out.name}.lock")
        self.open_ = False

    def open(self, name: str, inputs, owner: str) -> None:
        check_results_folder(self.out, name, inputs)  # before anything is written
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            self.lock.acquire(owner)
        except OSError as err:
            raise ResultsFolderError(f"cannot create or lock the results folder "
                                     f"({err.strerror or err})", file=str(self.out),
                                     hint="Pass an --out folder you can write to") from None
        try:
            check_results_folder(self.out, name, inputs)  # again, now that nobody else writes
            self._clean_strays()
            self.staging.mkdir()
        except OSError as err:
            self.lock.release()
            raise ResultsFolderError(f"cannot prepare the results folder ({err.strerror or err})",
                                     file=str(self.out),
                                     hint="Pass an --out folder you can write to") from None
        except BaseException:
            self.lock.release()
            raise
        self.open_ = True

    def _clean_strays(self) -> None:
        """Under the lock: staging folders of dead runs go; a complete run moved aside by a run
        killed in the middle of its swap is put back."""
        prefix = self.out.name
        for old in sorted(self.parent.glob(f"{_glob_escape(prefix)}.old-*")):
            if not self.out.exists() and (old / "manifest.json").is_file():
                os.rename(old, self.out)
            else:
                shutil.rmtree(old, ignore_errors=True)
        for stray in self.parent.glob(f"{_glob_escape(prefix)}.staging-*"):
            shutil.rmtree(stray, ignore_errors=True)
        if self.out.is_dir():
            for path in self.out.rglob(".*.tmp"):
                path.unlink(missing_ok=True)

    def swap(self) -> None:
        """Put the staging folder in place of ``out`` (the old run is moved aside, then removed)."""
        old = self.parent / f"{self.out.name}.old-{os.getpid()}"
        try:
            if self.out.exists():
                os.rename(self.out, old)
            os.rename(self.staging, self.out)
        except BaseException:  # e.g. Ctrl-C between the two renames: put the old run back
            if not self.out.exists() and old.exists():
                os.rename(old, self.out)
            raise
        _fsync_dir(self.parent)
        shutil.rmtree(old, ignore_errors=True)
        self.close()

    def abandon(self) -> None:
        if self.open_:
            shutil.rmtree(self.staging, ignore_errors=True)
        self.close()

    def close(self) -> None:
        self.open_ = False
        self.lock.release()


def _glob_escape(text: str) -> str:
    import glob

    return glob.escape(text)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------- the study
class Study:
    """One run of a study, writing into ``out_dir``.

    Parameters
    ----------
    name
        Study name (recorded in the manifest).
    out_dir
        Results folder. The run writes into ``<out_dir>.staging-<pid>`` beside it and
        :meth:`finish` swaps that in whole: the folder holds the previous complete run until
        then, and exactly this run's outputs after. Refused (ResultsFolderError) when another
        run holds its lock, when it holds one of ``inputs`` or ``config_path``, or when it is
        not empty and is not a results folder of this study.
    seed
        The run's seed (recorded).
    config, config_path
        The configuration as a dict, and the file it came from; hashed into the manifest.
    argv
        The command line (recorded).
    verbose
        Print one line per step.
    inputs
        Files the run reads (data, codebook): the results folder must not hold them.

    Notes
    -----
    An exception escaping :meth:`step` abandons the run (its staging folder is removed and the
    lock released); so does dropping the Study without calling :meth:`finish`.
    """

    def __init__(self, name: str, out_dir: str | os.PathLike, *, seed: int | None = None,
                 config: dict | None = None, config_path: str | os.PathLike | None = None,
                 argv: list[str] | None = None, verbose: bool = True, steps_total: int | None = None,
                 inputs: Iterable[str | os.PathLike | None] = ()):
        self.name = name
        self.out = Path(out_dir)
        self.seed = seed
        self.config = config
        self.config_path = None if config_path is None else Path(config_path)
        self.argv = list(argv) if argv is not None else None
        self.verbose = verbose
        self.steps_total = steps_total
        self.numbers: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.data_hash: str | None = None
        self.data_description: dict[str, Any] = {}
        self._flags: dict[str, dict[str, Any]] = {}
        self._recorded: dict[str, tuple[Any, str]] = {}  # dotted key -> (value, flags text)
        self._groups: set[str] = set()  # every proper prefix of a recorded key
        self._accepted: dict[str, str] = {}
        self._outputs: list[str] = []
        self._step_index = 0
        self._t0 = time.perf_counter()
        self._params: dict[str, dict[str, Any]] = {}
        self._state = "open"
        self._config_bytes = (self.config_path.read_bytes() if self.config_path is not None
                              and self.config_path.is_file() else None)
        self._folder = _Folder(self.out)
        owner = f"{os.getpid()} {name} {' '.join(self.argv or [])}\n"
        self._folder.open(name, [self.config_path, *inputs], owner)
        self._finalizer = weakref.finalize(self, self._folder.abandon)

    @property
    def staging(self) -> Path:
        """The folder the run writes into until :meth:`finish` swaps it in."""
        return self._folder.staging

    def _writable(self) -> Path:
        if self._state != "open":
            raise ResultsFolderError(f"this run of {self.name!r} was {self._state}; nothing more "
                                     "can be written to it", file=str(self.out),
                                     hint="start a new Study")
        return self._folder.staging

    def abandon(self, reason: str = "abandoned") -> None:
        """Give up the run: remove its staging folder, release the lock; ``out`` is untouched."""
        if self._state == "open":
            self._state = reason
            self._finalizer()

    # ------------------------------------------------------------------ progress
    @contextmanager
    def step(self, label: str):
        """Time a step and print ``[i/N] label`` when it starts and how long it took."""
        self._step_index += 1
        counter = f"[{self._step_index}/{self.steps_total}]" if self.steps_total else f"[{self._step_index}]"
        if self.verbose:
            print(f"{counter} {label} ...", flush=True)
        start = time.perf_counter()
        try:
            yield self
        except BaseException:
            self.abandon(f"abandoned after a failure in step {label!r}")
            raise
        finally:
            elapsed = time.perf_counter() - start
            self.timings[label] = round(elapsed, 3)
            if self.verbose and self._state in ("open", "finished"):
                print(f"{counter} {label}: {elapsed:.1f} s", flush=True)

    # ------------------------------------------------------------------ outputs
    def _register(self, path: Path) -> Path:
        """Record an output written in the staging folder; return where it will be in ``out``."""
        rel = path.relative_to(self._folder.staging).as_posix()
        if rel not in self._outputs:
            self._outputs.append(rel)
        return self.out / rel

    def file(self, relative_path: str, content: str | bytes) -> Path:
        """Write any other output (e.g. a fitted index's JSON) under the folder, atomically,
        and list it with its hash in the manifest. Returns its path in ``out``."""
        from connection._io import atomic_write, write_text

        rel = Path(relative_path)
        if rel.is_absolute() or ".." in rel.parts or rel.as_posix() in ("manifest.json", "."):
            raise ArgumentError("an output's path must be relative, inside the results folder, "
                                "and not manifest.json", values=[str(relative_path)])
        target = self._writable() / rel
        if isinstance(content, bytes):
            path = atomic_write(target, lambda p: p.write_bytes(content))
        else:
            path = write_text(target, content)
        return self._register(path)

    def table(self, name: str, frame, **kwargs) -> Path:
        """Write ``tables/<name>.csv`` (floats with 10 significant digits); returns its path in
        ``out`` (where it is once the run finishes)."""
        return self._register(write_csv(self._writable() / "tables" / f"{name}.csv", frame,
                                        **kwargs))

    def number(self, key: str, value: Any, *, flags: Any = None,
               accepted: str | None = None) -> None:
        """Record a number (or string/bool/list) under a dotted key, e.g. ``"index.mean"``.

        Every ``.`` nests: ``"index.mean"`` is ``numbers.json["index"]["mean"]``, and the paper
        cites it as ``{{ study:index.mean }}`` (``paper/build.py`` splits the key at each ``.``
        the same way). A label that holds a ``.`` therefore becomes two levels; replace the dot
        in the label if that is not meant. A key names one value, recorded once:

        - a key that is already recorded may be recorded again only with the same value and the
          same flags (nothing changes); a different value or other flags is an ArgumentError
          (a number is never replaced silently);
        - a key cannot sit under a recorded value (``"a.b"`` after ``"a"``), nor be the group of
          recorded keys (``"a"`` after ``"a.b"``): an ArgumentError naming both keys.

        ``flags``: the admissibility flags of the solution the number comes from (a string as
        in a table's ``flags`` column, or :class:`~connection._flags.Flag` objects); a flagged
        number is listed in ``numbers.json`` ``"_flags"`` and the manifest, and the paper build
        refuses to cite it unless it is accepted (``accepted="reason"`` or :meth:`accept`).
        """
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise ArgumentError("a number key is a non-empty dotted name (each '.' nests, "
                                "so no part may be empty)", values=[key])
        if key.split(".")[0] == "_flags":
            raise ArgumentError("number keys may not start with '_flags' (reserved for the "
                                "flags of numbers.json)", values=[key])
        parts = key.split(".")
        stored = round_sig(value)
        text = _flag_text(flags)
        hint = ("Give each number its own key; a '.' in a key nests (a label with a '.' in it "
                "becomes two levels)")
        for i in range(1, len(parts)):
            prefix = ".".join(parts[:i])
            if prefix in self._recorded:
                raise ArgumentError(
                    f"number key {key!r} would nest under {prefix!r}, which is already recorded "
                    f"as a value ({_shown(self._recorded[prefix][0])}): a key cannot be both a "
                    "value and a group of values", values=[key, prefix], hint=hint)
        if key in self._groups:
            below = next(k for k in sorted(self._recorded) if k.startswith(key + "."))
            raise ArgumentError(
                f"number key {key!r} is already the group of recorded numbers (e.g. {below!r}): "
                "recording a value under it would replace them", values=[key, below], hint=hint)
        if key in self._recorded:
            old_value, old_text = self._recorded[key]
            if _canonical(old_value) != _canonical(stored) or old_text != text:
                what = ("another value" if _canonical(old_value) != _canonical(stored)
                        else "other flags")
                raise ArgumentError(
                    f"number key {key!r} is recorded twice with {what} ({_shown(old_value)}"
                    f"{' [' + old_text + ']' if old_text else ''} then {_shown(stored)}"
                    f"{' [' + text + ']' if text else ''}): a recorded number is not replaced",
                    values=[key], hint="Record each number once, under its own key")
        node = self.numbers
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = stored
        self._recorded[key] = (stored, text)
        self._groups.update(".".join(parts[:i]) for i in range(1, len(parts)))
        if text:
            self._flags[key] = {"flags": text, "accepted": None}
            if accepted is not None:
                self.accept(key, accepted)

    def number_table(self, prefix: str, frame, *, key: str | Sequence[str],
                     columns: Sequence[str] | Mapping[str, str] | None = None,
                     value: str | None = None, flags_column: str | None = "flags") -> int:
        """Record numbers from a table, one key per row and column; returns how many.

        ``key`` names the column (or columns, joined by ``.``) whose values name the row. Give
        ``columns`` (a list: each column under its own name, ``<prefix>.<row>.<column>``; a
        mapping ``{column: name}``: under ``<prefix>.<row>.<name>``) or ``value`` (one column,
        recorded as ``<prefix>.<row>`` itself). ``flags_column``: the column holding each row's
        flags, which every number of the row carries (see :meth:`number`); ``None`` for a
        table without flags. A column that is named but missing is an ArgumentError (flags are
        never dropped by a typo). Values are recorded as the table holds them (numpy scalars
        become Python numbers, NaN ``null``): cast a column first for another type (e.g. a
        float ``n`` to int).

        Examples
        --------
        >>> import tempfile, pandas as pd
        >>> study = Study("demo", Path(tempfile.mkdtemp()) / "out", verbose=False)
        >>> rel = pd.DataFrame({"construct": ["a", "b"], "alpha": [0.8, 0.7],
        ...                     "omega": [0.81, 1.2], "flags": ["", "heywood: x"]})
        >>> study.number_table("reliability", rel, key="construct", columns=["alpha", "omega"])
        4
        >>> study.numbers["reliability"]["b"], list(study.flags())
        ({'alpha': 0.7, 'omega': 1.2}, ['reliability.b.alpha', 'reliability.b.omega'])
        >>> study.number_table("alpha", rel, key="construct", value="alpha", flags_column=None)
        2
        >>> study.numbers["alpha"]
        {'a': 0.8, 'b': 0.7}
        >>> study.abandon()
        """
        if (columns is None) == (value is None):
            raise ArgumentError(f"number_table({prefix!r}) needs columns= or value=, not both",
                                values=[columns, value])
        keys = [key] if isinstance(key, str) else list(key)
        if value is not None:
            named: dict[str, str | None] = {value: None}
        elif isinstance(columns, Mapping):
            named = dict(columns)
        else:
            named = {c: c for c in ([columns] if isinstance(columns, str) else columns)}
        wanted = [*keys, *named, *([flags_column] if flags_column is not None else [])]
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise ArgumentError(f"number_table({prefix!r}): the table has no column "
                                f"{missing[0]!r}", values=missing,
                                expected="one of " + ", ".join(map(str, frame.columns)))
        count = 0
        for row in frame[list(dict.fromkeys(wanted))].to_dict("records"):
            base = ".".join([prefix, *(str(row[k]) for k in keys)])
            flags = row[flags_column] if flags_column is not None else None
            for column, name in named.items():
                self.number(base if name is None else f"{base}.{name}", row[column],
                            flags=flags)
                count += 1
        return count

    def accept(self, key_or_prefix: str, reason: str) -> int:
        """Accept the flagged numbers under ``key_or_prefix`` (the key itself or any key below
        it), for a stated ``reason`` that goes into numbers.json, the manifest and the paper's
        provenance. Applies to numbers recorded before and after the call. Returns how many
        flagged numbers it covers now."""
        if not isinstance(reason, str) or not reason.strip():
            raise ArgumentError("accepting a flagged number needs a reason (a sentence saying "
                                "why the number may be cited)", values=[key_or_prefix])
        self._accepted[key_or_prefix] = reason.strip()
        return sum(1 for k in self._flags if self._accepted_reason(k) is not None)

    def _accepted_reason(self, key: str) -> str | None:
        best = None
        for prefix, reason in self._accepted.items():
            if key == prefix or key.startswith(prefix + "."):
                if best is None or len(prefix) > len(best[0]):
                    best = (prefix, reason)
        return None if best is None else best[1]

    def flags(self) -> dict[str, dict[str, Any]]:
        """Flagged numbers: dotted key -> ``{"flags": text, "accepted": None or reason}``."""
        return {k: {"flags": v["flags"], "accepted": self._accepted_reason(k)}
                for k, v in sorted(self._flags.items())}

    def figure(self, name: str, fig, formats=("png", "pdf")) -> list[Path]:
        """Write ``figures/<name>.png`` and ``.pdf`` (reproducible bytes) and close ``fig``."""
        from connection.plots import save_figure

        paths = save_figure(fig, self._writable() / "figures" / name, formats=formats)
        return [self._register(p) for p in paths]

    def record_data(self, data, description: dict[str, Any] | None = None) -> str:
        """Hash the analysed data (a DataFrame, or a file path) into the manifest."""
        if isinstance(data, str | os.PathLike):
            self.data_hash = sha256_file(data)
        else:
            import pandas as pd

            frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
            self.data_hash = sha256_bytes(
                frame.to_csv(index=False, float_format="%.17g", lineterminator="\n").encode())
        self.data_description = dict(description or {})
        return self.data_hash

    def record_params(self, name: str, estimator: Any) -> dict[str, Any]:
        """Record an estimator's parameters (``estimator.get_params()``, or a dict) in the
        manifest under ``parameters[name]``, so that the run says how its models were set up
        (e.g. the connection index: model text, item ranges, segment rule).

        The parameters must be JSON values; recording a name twice with other parameters is an
        ArgumentError (one run, one set-up per estimator)."""
        self._writable()
        params = estimator.get_params() if hasattr(estimator, "get_params") else estimator
        if not isinstance(params, dict):
            raise ArgumentError(f"record_params({name!r}) needs an object with get_params() or a "
                                "dict", values=[type(estimator).__name__])
        try:
            text = json.dumps(params, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ArgumentError(f"the parameters of {name!r} are not JSON values ({exc})") from None
        params = json.loads(text)
        recorded = self._params.setdefault(name, params)
        if recorded != params:
            raise ArgumentError(f"parameters {name!r} were recorded already with other values",
                                hint="record each estimator once per run, or give it another name")
        return params

    # ------------------------------------------------------------------ finish
    def finish(self) -> dict[str, Any]:
        """Write ``numbers.json`` and ``manifest.json``, swap the run into ``out``; return the
        manifest."""
        staging = self._writable()
        flags = self.flags()
        self._register(write_json(staging / "numbers.json", {**self.numbers, "_flags": flags}))
        config_bytes = (self._config_bytes if self._config_bytes is not None else
                        json.dumps(self.config, sort_keys=True, default=str).encode())
        outputs = {rel: sha256_file(staging / rel) for rel in sorted(self._outputs)}
        unaccepted = [k for k, v in flags.items() if v["accepted"] is None]
        manifest = {
            "study": self.name,
            "seed": self.seed,
            "argv": self.argv,
            "config_path": None if self.config_path is None else str(self.config_path),
            "config_sha256": sha256_bytes(config_bytes),
            "config": self.config,
            "data_sha256": self.data_hash,
            "data": self.data_description,
            "packages": package_versions(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "git": git_state(),
            "timings_seconds": {**self.timings,
                                "total": round(time.perf_counter() - self._t0, 3)},
            "flags": {"flagged": len(flags), "accepted": len(flags) - len(unaccepted),
                      "unaccepted": unaccepted},
            "parameters": self._params,
            "outputs": outputs,
        }
        write_json(staging / "manifest.json", manifest)
        try:
            self._folder.swap()
        except BaseException:
            self.abandon("abandoned: its outputs could not be put in place")
            raise
        self._state = "finished"
        self._finalizer.detach()
        if self.verbose:
            print(f"{self.name}: wrote {len(outputs)} outputs and manifest.json to {self.out}",
                  flush=True)
        return manifest


@contextmanager
def flags_from_warnings():
    """Collect the admissibility warnings issued inside the block as flags.

    For results whose helper does not (yet) carry a ``flags`` column or attribute: the
    package's ConvergenceWarning, HeywoodCaseWarning, NotPositiveDefiniteWarning,
    IdentificationWarning, PoorFitWarning and InadmissibleSolutionWarning become :class:`Flag`
    objects in the list the block receives (filled when the block ends); every warning is
    re-issued as it was. The code is the one the engine records for the same problem
    (:mod:`connection.latent.checks`): a warning class that covers two problems is told apart by
    what its message says (see :func:`_warning_code`).

    Examples
    --------
    >>> import warnings
    >>> from connection.errors import HeywoodCaseWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # silenced on the console, still a flag
    ...     with flags_from_warnings() as found:
    ...         warnings.warn("x1 ~~ x1 = -0.2", HeywoodCaseWarning)
    >>> [str(f) for f in found]
    ['heywood: x1 ~~ x1 = -0.2']
    """
    import warnings

    found: list[Flag] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield found
    for w in caught:
        code = _warning_code(w.category, str(w.message), w.message)
        if code is not None:
            flag = Flag(code, one_line(str(w.message), 300))
            if flag not in found:
                found.append(flag)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _warning_code(category: type, text: str, instance: Any = None) -> str | None:
    """The flag code of one of the package's warnings (None for a warning that is no flag).

    A warning that carries its code (a ``code`` or ``flag`` attribute) is taken at its word.
    Else by class, and for the classes that cover two problems by what the message says, as
    :mod:`connection.latent.checks` words it: a NotPositiveDefiniteWarning about the residual
    covariance matrix (Theta) is ``residual_not_pd``, about the latent variables
    ``latent_not_pd`` (``other`` when it names neither); an IdentificationWarning about negative
    degrees of freedom is ``negative_df``, else ``not_identified``.
    """
    from connection._flags import FLAG_CODES
    from connection.errors import (
        ConvergenceWarning,
        HeywoodCaseWarning,
        IdentificationWarning,
        InadmissibleSolutionWarning,
        NotPositiveDefiniteWarning,
        PoorFitWarning,
    )

    carried = getattr(getattr(instance, "flag", None), "code", None) or getattr(instance, "code",
                                                                                None)
    if isinstance(carried, str) and carried in FLAG_CODES:
        return carried
    lower = text.lower()
    if issubclass(category, ConvergenceWarning):
        return "not_converged"
    if issubclass(category, HeywoodCaseWarning):
        return "heywood"
    if issubclass(category, NotPositiveDefiniteWarning):
        # the engine's wording first (a group label could hold either word), then any mention
        if "the residual covariance matrix" in lower:
            return "residual_not_pd"
        if "covariance matrix of the latent variables" in lower:
            return "latent_not_pd"
        if "residual" in lower or "theta" in lower:
            return "residual_not_pd"
        return "latent_not_pd" if "latent" in lower else "other"
    if issubclass(category, IdentificationWarning):
        return "negative_df" if "negative degrees of freedom" in lower else "not_identified"
    if issubclass(category, PoorFitWarning):
        return "poor_fit"
    if issubclass(category, InadmissibleSolutionWarning):
        return "other"
    return None


def _canonical(value: Any) -> str:
    """A recorded value as numbers.json writes it (1, 1.0 and True differ)."""
    return json.dumps(value, sort_keys=True, default=str, allow_nan=True)


def _shown(value: Any, limit: int = 60) -> str:
    text = _canonical(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _flag_text(flags: Any) -> str:
    if flags is None:
        return ""
    if isinstance(flags, float) and math.isnan(flags):  # an empty cell read by pandas
        return ""
    if isinstance(flags, str | Flag):
        return str(flags).strip()
    if isinstance(flags, Iterable):
        return format_flags(str(f).strip() for f in flags if f is not None and str(f).strip()
                            and not (isinstance(f, float) and math.isnan(f)))
    raise ArgumentError("flags must be a string, a Flag or an iterable of them",
                        values=[type(flags).__name__])


# ---------------------------------------------------------------------------------- command line
class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors raise :class:`~connection.errors.ArgumentError`
    (so a study script reports them as one line, like every other failure)."""

    def error(self, message: str):
        raise ArgumentError(f"{message} (see --help)")


def read_toml(path: str | os.PathLike, *, what: str = "config") -> dict[str, Any]:
    """Read a TOML file; every failure is a ConfigError naming the file."""
    import tomllib

    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found", file=str(path)) from None
    except OSError as err:
        raise ConfigError(f"cannot read the {what} file ({err.strerror or err})",
                          file=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"the {what} file is not UTF-8 text (byte {err.start})", file=str(path),
                          expected="a UTF-8 encoded TOML file") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"the {what} file is not valid TOML: {err}", file=str(path)) from None


_REQUIRED = object()
_KINDS = {"int": "a whole number", "float": "a number", "str": "a text", "bool": "true or false",
          "table": "a table", "list": "a list", "list[float]": "a list of numbers",
          "list[int]": "a list of whole numbers", "list[str]": "a list of texts"}


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return (isinstance(value, int | float) and not isinstance(value, bool)
                and math.isfinite(value))
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "table":
        return isinstance(value, dict)
    if kind.startswith("list"):
        if not isinstance(value, list):
            return False
        inner = kind[5:-1] if "[" in kind else None
        return inner is None or all(_is_kind(v, inner) for v in value)
    raise ValueError(kind)


def setting(config: dict, key: str, kind: str, *, file: str | os.PathLike | None = None,
            default: Any = _REQUIRED, minimum: float | None = None,
            maximum: float | None = None, above: float | None = None,
            choices: Iterable[Any] | None = None, nonempty: bool = False) -> Any:
    """A config value by dotted key, checked: present (unless a ``default`` is given), of
    ``kind`` (``int``, ``float``, ``str``, ``bool``, ``table``, ``list``, ``list[float]``,
    ``list[int]``, ``list[str]``), within ``minimum``/``maximum`` (and ``> above``), one of
    ``choices``; else a ConfigError naming the file, the key, the value and what is expected.

    >>> setting({"study": {"n": 10}}, "study.n", "int", minimum=1)
    10
    >>> setting({"study": {"n": "10"}}, "study.n", "int", file="s.toml")
    Traceback (most recent call last):
    ...
    connection.errors.ConfigError: config key 'study.n' has the wrong type [file 's.toml', value '10'; expected a whole number]
    """
    node: Any = config
    walked = []
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            if default is not _REQUIRED:
                return default
            at = ".".join(walked)
            raise ConfigError(f"config key {key!r} is missing" + (f" (no {part!r} in [{at}])"
                                                                  if at else ""),
                              file=None if file is None else str(file),
                              expected=f"{_KINDS[kind]} under {key!r}")
        node = node[part]
        walked.append(part)
    where = {"file": None if file is None else str(file)}
    if not _is_kind(node, kind):
        shown = node if isinstance(node, str | int | float | bool) else type(node).__name__
        raise ConfigError(f"config key {key!r} has the wrong type", values=[shown],
                          expected=_KINDS[kind], **where)
    numbers = node if isinstance(node, list) else [node]
    if kind in ("int", "float", "list[int]", "list[float]"):
        for v in numbers:
            if (minimum is not None and v < minimum) or (maximum is not None and v > maximum) \
                    or (above is not None and v <= above):
                bounds = []
                if minimum is not None:
                    bounds.append(f">= {minimum}")
                if above is not None:
                    bounds.append(f"> {above}")
                if maximum is not None:
                    bounds.append(f"<= {maximum}")
                raise ConfigError(f"config key {key!r} is out of range", values=[v],
                                  expected=f"{_KINDS[kind]} {' and '.join(bounds)}", **where)
    if choices is not None:
        choices = list(choices)
        for v in numbers:
            if v not in choices:
                raise ConfigError(f"config key {key!r} has an unknown value", values=[v],
                                  expected="one of " + ", ".join(map(repr, choices)), **where)
    if nonempty and not node:
        raise ConfigError(f"config key {key!r} is empty", expected=_KINDS[kind], **where)
    return node


@contextmanager
def worker_pool(workers: Any = 0):
    """The executor of a study's repeated-sample steps, for :func:`connection.monte_carlo`.

    ``workers``: ``0``/``None`` (serial, in this process), a number of processes (a pool shut
    down on leaving the block), the address of a running Dask scheduler (``"tcp://host:8786"``,
    a study's ``--scheduler``: a client connected to it for the block), or an executor or
    ``dask.distributed.Client`` the caller owns (used as it is). The results are the same
    whichever is used.

    >>> with worker_pool(0) as ex:
    ...     ex is None
    True
    """
    if isinstance(workers, str):
        try:
            from distributed import Client
        except ImportError:
            raise ArgumentError("a Dask scheduler needs Dask's distributed package",
                                values=[workers],
                                hint="pip install 'connection[dask]', or use --workers N") from None
        with Client(workers) as client:
            yield client
        return
    if not workers:
        yield None
        return
    if not isinstance(workers, int | float) or isinstance(workers, bool):
        yield workers  # an executor or a Dask client the caller manages
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(int(workers)) as pool:
        yield pool


def check_argument(name: str, value: Any, *, minimum: float | None = None) -> Any:
    """A command-line number checked against ``minimum`` (ArgumentError naming the option)."""
    if value is not None and minimum is not None and value < minimum:
        raise ArgumentError(f"{name} must be at least {minimum}", values=[value])
    return value


def study_parser(prog: str, description: str, *, config: str | os.PathLike, out: str,
                 seed: bool = False, data: str | None = None) -> ArgumentParser:
    """The command line every study script shares (:class:`ArgumentParser`: a usage error is an
    ArgumentError): ``--config`` (default ``config``), ``--out`` (``None`` unless given; ``out``
    is the default the help names), ``--quiet``, and where the study has them ``--seed``
    (``seed=True``: a whole number >= 0; ``None`` = the config's) and ``--data`` (``data`` is
    its help text; the path as typed). Add the study's own options to the parser returned, then read the command
    line with :func:`parse_study_args`.

    >>> parser = study_parser("demo.py", "A demo.", config="demo.toml", out="results/demo",
    ...                       seed=True)
    >>> args = parse_study_args(parser, ["--seed", "3"])
    >>> args.seed, args.out, str(args.config), args.quiet
    (3, None, 'demo.toml', False)
    >>> parse_study_args(parser, ["--seed", "-1"])
    Traceback (most recent call last):
    ...
    connection.errors.ArgumentError: --seed must be at least 0 [value -1]
    """
    parser = ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", type=Path, default=Path(config),
                        help=f"study config (default: {config})")
    parser.add_argument("--out", type=Path, default=None, help=f"results folder (default: {out})")
    if seed:
        parser.add_argument("--seed", type=int, default=None,
                            help="seed, a whole number >= 0 (default: the config's)")
    if data is not None:
        parser.add_argument("--data", default=None, help=data)  # as typed (recorded so)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def parse_study_args(parser: argparse.ArgumentParser, argv: list[str] | None, *,
                     minimums: Mapping[str, float] | None = None,
                     ignore_unknown: bool = False) -> argparse.Namespace:
    """Parse a study's command line (``None``: ``sys.argv[1:]``) and check its numbers: ``--seed``
    at least 0 and every option of ``minimums`` (option -> minimum, e.g. ``{"--n-boot": 0}``)
    at least its minimum (:func:`check_argument`: an ArgumentError naming the option).
    ``ignore_unknown``: options of other studies are accepted and ignored (a command that passes
    the same options to every study), else refused."""
    if ignore_unknown:
        args, _ = parser.parse_known_args(argv)
    else:
        args = parser.parse_args(argv)
    checks = {"--seed": 0, **(minimums or {})}
    for option, minimum in checks.items():
        dest = option.lstrip("-").replace("-", "_")
        if hasattr(args, dest):
            check_argument(option, getattr(args, dest), minimum=minimum)
    return args


def one_line(text: str, limit: int = 2000) -> str:
    """``text`` on one line (newlines and their indentation become one space), capped."""
    text = re.sub(r"\s*\n\s*", " ", str(text)).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def as_package_error(exc: BaseException) -> ConnectionPackageError | None:
    """The package's typed error for a failure that escaped as a Python built-in one (None for an
    unexpected error: a bug)."""
    import json as _json
    import tomllib

    if isinstance(exc, ConnectionPackageError):
        return exc
    name = getattr(exc, "filename", None)
    if isinstance(exc, FileNotFoundError):
        return DataError("file not found", file=name)
    if isinstance(exc, IsADirectoryError | NotADirectoryError):
        return DataError("a folder was given where a file is expected (or the reverse)",
                         file=name)
    if isinstance(exc, PermissionError):
        return DataError("permission denied", file=name)
    if isinstance(exc, UnicodeDecodeError):
        return UndecodableFileError(f"a file is not valid {exc.encoding} text (byte {exc.start})")
    if isinstance(exc, _json.JSONDecodeError):
        return UndecodableFileError(f"a JSON file is not valid JSON ({exc.msg}, line {exc.lineno} "
                                    f"column {exc.colno})")
    if isinstance(exc, tomllib.TOMLDecodeError):
        return ConfigError(f"a TOML file is not valid TOML ({exc})")
    if isinstance(exc, OSError):
        return ResultsFolderError(f"a file operation failed ({exc.strerror or exc})", file=name)
    if isinstance(exc, KeyError):
        return ConfigError(f"a required key is missing: {exc}")
    return None


def run_cli(main: Callable[[list[str] | None], Any], argv: list[str] | None = None, *,
            prog: str | None = None) -> int:
    """Run a study's ``main(argv)``; every failure becomes ONE line on stderr and exit code 2.

    The package's typed errors are printed as ``prog: ErrorClass: message``; built-in errors
    escaping from deeper code are converted first (:func:`as_package_error`); an unexpected error
    is reported as a bug on one line (set ``CONNECTION_TRACEBACK=1`` for the traceback).
    Ctrl-C (SIGINT) exits with 130 and SIGTERM with 143, after the run has removed its staging
    folder and said that the results folder was left as it was.
    """
    prog = prog or Path(sys.argv[0]).name or "study"
    restore = _catch_sigterm()
    try:
        code = main(argv)
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        print(f"{prog}: {what}; the results folder holds the previous complete run (if any)",
              file=sys.stderr, flush=True)
        return 143 if isinstance(exc, _Terminated) else 130
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the point: no traceback, one line, exit 2
        if os.environ.get("CONNECTION_TRACEBACK"):
            traceback.print_exc()
        err = as_package_error(exc)
        if err is None:
            text = (f"unexpected {type(exc).__name__}: {one_line(exc)} (a bug: please report it; "
                    "set CONNECTION_TRACEBACK=1 to see the traceback)")
        else:
            text = f"{type(err).__name__}: {one_line(err)}"
        print(f"{prog}: error: {one_line(text)}", file=sys.stderr, flush=True)
        return 2
    finally:
        restore()
    return 0 if code is None else int(code)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that a run tidies up as on Ctrl-C."""


def _catch_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into :class:`_Terminated` while a command runs (main thread, default
    handler only); returns the function that restores the previous handler."""
    import signal
    import threading

    if (threading.current_thread() is not threading.main_thread()
            or not hasattr(signal, "SIGTERM")
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        return lambda: None

    def handler(signum, frame):
        raise _Terminated()

    signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL)
