"""A study run writes one results folder: tables, numbers, figures and a provenance manifest.

::

    results/<study>/
      tables/*.csv        tidy tables (fixed float format: byte-identical for the same seed)
      figures/*.png|pdf   figures (no dates in their metadata)
      numbers.json        every number the paper may cite, nested by dotted key
      manifest.json       seed, argv, config and its hash, data hash, package versions,
                          git commit, timings per step, and the sha256 of every output

Only ``manifest.json`` changes between two runs with the same seed (its timings).

Examples
--------
>>> import tempfile, pandas as pd
>>> from connection.study import Study
>>> out = tempfile.mkdtemp()
>>> study = Study("demo", out, seed=1, config={"n": 10}, verbose=False)
>>> with study.step("means"):
...     path = study.table("means", pd.DataFrame({"x": [1.0, 2.5]}))
...     study.number("means.x", 1.75)
>>> manifest = study.finish()
>>> sorted(manifest["outputs"])
['numbers.json', 'tables/means.csv']
>>> study.numbers
{'means': {'x': 1.75}}
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from connection._io import sha256_bytes, sha256_file, write_csv, write_json

__all__ = ["Study", "package_versions", "git_state", "round_sig"]

_PACKAGES = ("connection", "numpy", "pandas", "scipy", "statsmodels", "pingouin", "seaborn",
             "matplotlib", "pyreadstat", "pyyaml", "tqdm")


def package_versions() -> dict[str, str]:
    """Installed versions of the package and its runtime dependencies."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
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


class Study:
    """One run of a study, writing into ``out_dir``.

    Parameters
    ----------
    name
        Study name (recorded in the manifest).
    out_dir
        Results folder; created if needed. Existing outputs of the same names are replaced
        atomically; other files are left alone.
    seed
        The run's seed (recorded).
    config, config_path
        The configuration as a dict, and the file it came from; hashed into the manifest.
    argv
        The command line (recorded).
    verbose
        Print one line per step.
    """

    def __init__(self, name: str, out_dir: str | os.PathLike, *, seed: int | None = None,
                 config: dict | None = None, config_path: str | os.PathLike | None = None,
                 argv: list[str] | None = None, verbose: bool = True, steps_total: int | None = None):
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
        self._outputs: list[Path] = []
        self._step_index = 0
        self._t0 = time.perf_counter()
        self.out.mkdir(parents=True, exist_ok=True)

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
        finally:
            elapsed = time.perf_counter() - start
            self.timings[label] = round(elapsed, 3)
            if self.verbose:
                print(f"{counter} {label}: {elapsed:.1f} s", flush=True)

    # ------------------------------------------------------------------ outputs
    def _register(self, path: Path) -> Path:
        if path not in self._outputs:
            self._outputs.append(path)
        return path

    def file(self, relative_path: str, content: str | bytes) -> Path:
        """Write any other output (e.g. a fitted index's JSON) under the folder, atomically,
        and list it with its hash in the manifest."""
        from connection._io import atomic_write, write_text

        target = self.out / relative_path
        if isinstance(content, bytes):
            path = atomic_write(target, lambda p: p.write_bytes(content))
        else:
            path = write_text(target, content)
        return self._register(path)

    def table(self, name: str, frame, **kwargs) -> Path:
        """Write ``tables/<name>.csv`` (floats with 10 significant digits)."""
        return self._register(write_csv(self.out / "tables" / f"{name}.csv", frame, **kwargs))

    def number(self, key: str, value: Any) -> None:
        """Record a number (or string/bool/list) under a dotted key, e.g. ``"index.mean"``."""
        node = self.numbers
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise KeyError(f"number key {key!r} collides with an existing value at {part!r}")
        node[parts[-1]] = round_sig(value)

    def figure(self, name: str, fig, formats=("png", "pdf")) -> list[Path]:
        """Write ``figures/<name>.png`` and ``.pdf`` (reproducible bytes) and close ``fig``."""
        from connection.plots import save_figure

        paths = save_figure(fig, self.out / "figures" / name, formats=formats)
        for p in paths:
            self._register(p)
        return paths

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

    # ------------------------------------------------------------------ finish
    def finish(self) -> dict[str, Any]:
        """Write ``numbers.json`` and ``manifest.json``; return the manifest."""
        self._register(write_json(self.out / "numbers.json", self.numbers))
        config_bytes = (self.config_path.read_bytes() if self.config_path is not None
                        and self.config_path.exists() else
                        json.dumps(self.config, sort_keys=True, default=str).encode())
        outputs = {p.relative_to(self.out).as_posix(): sha256_file(p) for p in sorted(self._outputs)}
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
            "outputs": outputs,
        }
        write_json(self.out / "manifest.json", manifest)
        if self.verbose:
            print(f"{self.name}: wrote {len(outputs)} outputs and manifest.json to {self.out}",
                  flush=True)
        return manifest
