"""Shared fixtures: one small run of each study per test session.

The studies (``studies/*.py``) are the slowest things the suite runs. Each runs ONCE per session,
small, as a script in a fresh process (as ``make.py reproduce`` runs it), into
``<tmp>/results/<study>``; every test file that needs a study's outputs reads that folder:

    social_moms_results, power_results, why_like_results, perception_gap_results -> Path
    study_results -> the folder holding all four (what ``paper/build.py`` reads)

A second run exists only for the byte-identity test of ``social_moms`` (``social_moms_rerun``:
the same options into another folder, with another ``PYTHONHASHSEED`` and ``--workers 2``: its
repeated-sample steps run on two processes); the context studies'
second runs are made in-process by their own byte-identity test (tests/test_context_studies.py).

The runs a session needs are read from the selected tests' fixtures when the first test starts
and started in background threads (one fewer than the CPUs, at least one), so they overlap with
the fast tests; a test that needs a run not yet started runs it itself. The terminal summary
lists how long each run took.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import settings

# property tests draw the same examples on every run (DEVELOPERS.md: deterministic); a
# failure found once is found again, not only on a lucky run
settings.register_profile("connection", derandomize=True, print_blob=True)
settings.load_profile("connection")

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"
TIMEOUT = 1800  # seconds per run; a loaded 2-core machine takes ~1 min for the largest

# the small runs: big enough for every assertion made on them (tests/test_social_moms.py,
# tests/test_social_moms_power.py, tests/test_context_studies.py, tests/test_paper.py)
STUDY_ARGS = {
    # the study config with a two-point sensitivity grid (written by the runner, see _small_config)
    "social_moms": ["--n", "1200", "--n-boot", "20", "--seed", "7", "--config", "{small_config}"],
    "power_social_moms": ["--population-n", "30000", "--reps", "300", "--scalar-reps", "40",
                          "--reps-at-n80", "80"],
    "why_like": [],
    "perception_gap": [],
}
# fixture name -> (folder, study)
RUNS = {
    "social_moms_results": ("results", "social_moms"),
    "power_results": ("results", "power_social_moms"),
    "why_like_results": ("results", "why_like"),
    "perception_gap_results": ("results", "perception_gap"),
    "social_moms_rerun": ("rerun", "social_moms"),
}
ALL_RESULTS = [name for name, (folder, _) in RUNS.items() if folder == "results"]


def social_moms_config(path: Path, values: dict[str, str]) -> Path:
    """studies/social_moms.toml written to ``path`` with the line of each dotted key
    (``"study.small_n_subsamples"``) set to ``key = value``."""
    import re

    text = (STUDIES / "social_moms.toml").read_text()
    for dotted, value in values.items():
        table, key = dotted.rsplit(".", 1)
        start = text.index(f"\n[{table}]\n")
        end = text.find("\n[", start + 1)
        end = len(text) if end < 0 else end
        section, k = re.subn(rf"(?m)^{key} = [^\n#]*", f"{key} = {value}", text[start:end])
        assert k == 1, f"{dotted} is not one line of studies/social_moms.toml"
        text = text[:start] + section + text[end:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _small_config(folder: Path) -> Path:
    """studies/social_moms.toml with a two-point sensitivity grid, 12 repeated studies in the
    recovery check and 20 subsamples in the small-n step."""
    return social_moms_config(folder / "social_moms.toml", {
        "study.sensitivity_correlations": "[0.0, 0.7]", "recovery.replicates": "12",
        "study.small_n_subsamples": "20"})


class _Run:
    def __init__(self, base: Path, key: str):
        folder, study = RUNS[key]
        self.key, self.study = key, study
        self.out = base / folder / study
        self.log = base / "logs" / f"{key}.log"
        args = [a.format(small_config=base / "config" / "social_moms.toml")
                for a in STUDY_ARGS[study]]
        if key == "social_moms_rerun":
            # the second run spreads the repeated-sample steps (ordinal replicates, recovery,
            # sensitivity) over two processes: its outputs must still be byte-identical
            args += ["--workers", "2"]
        self.cmd = [sys.executable, str(STUDIES / f"{study}.py"), *args, "--out", str(self.out),
                    "--quiet"]
        self.claimed = False
        self.done = threading.Event()
        self.error: str | None = None
        self.seconds = float("nan")
        self.where = ""
        self.proc: subprocess.Popen | None = None

    def execute(self, where: str) -> None:
        self.where = where
        start = time.perf_counter()
        try:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "MPLBACKEND": "Agg"}
            if self.key.endswith("_rerun"):  # outputs must not depend on str hashing either
                env["PYTHONHASHSEED"] = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
            with self.log.open("w") as log:
                self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdout=log,
                                             stderr=subprocess.STDOUT)
                try:
                    rc = self.proc.wait(timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    rc = f"timeout after {TIMEOUT} s"
            if rc != 0:
                tail = self.log.read_text(errors="replace")[-4000:]
                self.error = (f"{self.study} run for fixture {self.key} failed (exit {rc}):\n"
                              f"{' '.join(self.cmd)}\n{tail}")
        except Exception as exc:  # noqa: BLE001 - reported to every test that needs the run
            self.error = f"{self.study} run for fixture {self.key} could not run: {exc!r}"
        finally:
            self.seconds = time.perf_counter() - start
            self.done.set()


class StudyRunner:
    """Runs the studies a session needs, in the background, once each."""

    def __init__(self, base: Path, workers: int):
        self.base = base
        self.workers = max(1, workers)
        self.runs: dict[str, _Run] = {}
        self.queue: list[_Run] = []
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        _small_config(base / "config")

    def submit(self, keys) -> None:
        with self.lock:
            for key in keys:
                if key not in self.runs:
                    run = self.runs[key] = _Run(self.base, key)
                    self.queue.append(run)
            self.threads = [t for t in self.threads if t.is_alive()]
            while self.queue and len(self.threads) < self.workers:
                thread = threading.Thread(target=self._work, daemon=True, name="study-runner")
                self.threads.append(thread)
                thread.start()

    def _next(self) -> _Run | None:
        with self.lock:
            while self.queue:
                run = self.queue.pop(0)
                if not run.claimed:
                    run.claimed = True
                    return run
        return None

    def _work(self) -> None:
        while (run := self._next()) is not None:
            run.execute("background")

    def get(self, key: str) -> Path:
        with self.lock:
            run = self.runs.get(key)
            if run is None:
                run = self.runs[key] = _Run(self.base, key)
            mine = not run.claimed
            run.claimed = True
        if mine:  # not started yet: this test waits anyway, so it runs the study itself
            run.execute("waited for")
        run.done.wait()
        if run.error:
            pytest.fail(run.error, pytrace=False)
        return run.out

    def stop(self) -> None:
        """Kill runs still going when the session ends early (-x, Ctrl-C)."""
        for run in self.runs.values():
            if run.proc is not None and run.proc.poll() is None:
                run.proc.kill()


_runner: StudyRunner | None = None


def _needed(items) -> list[str]:
    keys: list[str] = []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        wanted = [k for k in RUNS if k in names]
        if "study_results" in names:
            wanted += ALL_RESULTS
        keys += [k for k in wanted if k not in keys]
    return keys


@pytest.fixture(scope="session")
def study_runner(tmp_path_factory) -> StudyRunner:
    global _runner
    if _runner is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        _runner = StudyRunner(tmp_path_factory.mktemp("studies"), cpus - 1)
    return _runner


@pytest.fixture(scope="session", autouse=True)
def _start_study_runs(request, study_runner):
    """Start, in the order the tests need them, the runs the selected tests use."""
    study_runner.submit(_needed(request.session.items))


@pytest.fixture(scope="session")
def social_moms_results(study_runner) -> Path:
    """``studies/social_moms.py --n 1200 --n-boot 20 --seed 7`` with a two-point sensitivity
    grid, run once in a fresh process."""
    return study_runner.get("social_moms_results")


@pytest.fixture(scope="session")
def social_moms_rerun(study_runner) -> Path:
    """The same social_moms run again, into another folder, with another ``PYTHONHASHSEED``:
    for the byte-identity test only."""
    return study_runner.get("social_moms_rerun")


@pytest.fixture(scope="session")
def power_results(study_runner) -> Path:
    """``studies/power_social_moms.py --population-n 30000 --reps 300 --scalar-reps 40``."""
    return study_runner.get("power_results")


@pytest.fixture(scope="session")
def why_like_results(study_runner) -> Path:
    """``studies/why_like.py`` with its defaults (it is small)."""
    return study_runner.get("why_like_results")


@pytest.fixture(scope="session")
def perception_gap_results(study_runner) -> Path:
    """``studies/perception_gap.py`` with its defaults (it is small)."""
    return study_runner.get("perception_gap_results")


@pytest.fixture(scope="session")
def study_results(social_moms_results, power_results, why_like_results,
                  perception_gap_results) -> Path:
    """The results folder holding every study's outputs, as ``make.py reproduce`` writes it."""
    folder = social_moms_results.parent
    assert {p.parent for p in (power_results, why_like_results, perception_gap_results)} == {
        folder}
    return folder


def pytest_sessionfinish(session, exitstatus):
    if _runner is not None:
        _runner.stop()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _runner is None or not _runner.runs:
        return
    parts = [f"{run.key} {run.seconds:.1f} s ({run.where})"
             for run in _runner.runs.values() if run.done.is_set()]
    terminalreporter.write_line("study runs: " + ", ".join(parts))
