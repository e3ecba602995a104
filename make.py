#!/usr/bin/env python3
"""The project's two jobs, with nothing but Python 3.11 and pip on the machine.

    python3 make.py reproduce   # set up .venv, run the studies, their figures and the paper
    python3 make.py test        # set up .venv, run the test suite (slow checks left out), then
                                # build the documentation site (which executes the notebooks)
    python3 make.py test -m slow    # only the slow checks (coverage, recovery, fuzzing); CI runs
                                    # both; extra options go to pytest (and skip the docs build)
    python3 make.py docs        # build the documentation site only: build/docs/index.html

All create (or reuse) the virtual environment ``.venv`` and install the package into it with
its ``dev``, ``notebooks``, ``paper`` and ``docs`` extras; the install is redone when
``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed-pyproject-sha256"

# the main job, in order; each entry runs only if its script exists (the project grows into it)
REPRODUCE = [
    ["studies/social_moms.py"],
    ["studies/power_social_moms.py"],
    ["studies/why_like.py"],
    ["studies/perception_gap.py"],
    ["paper/build.py"],
]


def run(cmd: list[str], **kw) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)


def setup() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - make.py may be run by an older python3
        sys.exit(f"connection needs Python >= 3.11; this is {sys.version.split()[0]}")
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == want:
        return
    if not PY.exists():
        print(f"creating virtual environment {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    steps = [
        [PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [PY, "-m", "pip", "install", "--quiet", "-e", ".[dev,notebooks,paper,docs]"],
    ]
    for cmd in steps:
        if run(cmd) != 0:
            sys.exit(f"setup failed at: {' '.join(map(str, cmd))}")
    STAMP.write_text(want + "\n")


def reproduce(extra: list[str]) -> int:
    if extra:
        print("reproduce takes no options; run a study script directly for --seed/--n/--out, "
              "e.g. .venv/bin/python studies/social_moms.py --help", file=sys.stderr)
        return 2
    setup()
    env = {**os.environ, "MPLBACKEND": "Agg"}
    ran = 0
    for script, *args in REPRODUCE:
        if not (ROOT / script).exists():
            continue
        rc = run([PY, script, *args], env=env)
        if rc != 0:
            print(f"{script} failed with exit code {rc}", file=sys.stderr)
            return rc
        ran += 1
    print(f"reproduce: ran {ran} step(s); results in results/, the paper in paper/build/")
    return 0


def test(extra: list[str]) -> int:
    setup()
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    # the notebooks are executed once, by the docs build below (an error in a cell fails it)
    rc = run([PY, "-m", "pytest", "tests", "connection", "--doctest-modules", *extra], env=env)
    if rc == 5:  # pytest: no tests collected; nothing failed
        print("pytest collected no tests; treating as success")
        rc = 0
    if rc != 0 or extra:  # a selection of tests (e.g. -m slow) leaves the site alone
        return rc
    return docs([])


def docs(extra: list[str]) -> int:
    """Build the site with MkDocs, warnings as errors (mkdocs.yml sets strict)."""
    setup()
    start = time.perf_counter()
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "NO_MKDOCS_2_WARNING": "1"}
    rc = run([PY, "-m", "mkdocs", "build", "--strict", *extra], env=env)
    if rc == 0:
        print(f"docs: built build/docs/index.html in {time.perf_counter() - start:.0f} s")
    else:
        print("docs: the build failed (warnings are errors); see the messages above",
              file=sys.stderr)
    return rc


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"reproduce", "test", "docs", "setup"}:
        print(__doc__)
        return 2
    job, extra = argv[0], argv[1:]
    if job == "setup":
        setup()
        return 0
    return {"reproduce": reproduce, "test": test, "docs": docs}[job](extra)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
