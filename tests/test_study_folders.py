"""Result folders hold one complete run or nothing (issue 11).

A run writes into ``<out>.staging-<pid>`` and swaps it in whole at ``finish()``; a lock beside
the folder refuses a second run; a folder holding an input or foreign files is refused; flagged
numbers travel into numbers.json and the manifest. The signal and concurrency tests run the real
``studies/why_like.py`` in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connection._flags import Flag
from connection.errors import ArgumentError, ResultsFolderError
from connection.study import Study, check_results_folder

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (empty for a missing folder)."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_consistent(folder: Path, running: bool = False) -> dict:
    """The folder holds exactly the files its manifest lists (plus the manifest), each with the
    recorded sha256, and nothing of a staging run lies beside it."""
    manifest = json.loads((folder / "manifest.json").read_text())
    files = snapshot(folder)
    assert set(files) == set(manifest["outputs"]) | {"manifest.json"}
    for rel, digest in manifest["outputs"].items():
        assert hashlib.sha256(files[rel]).hexdigest() == digest, rel
    leftovers = [p.name for p in folder.parent.iterdir()
                 if p.name.startswith(folder.name + ".")]
    assert running or leftovers == [], leftovers
    return manifest


def small_run(out: Path, tables=("a",), name="t", fail_in_step=False, value=1.0):
    study = Study(name, out, seed=1, config={"x": 1}, verbose=False)
    with study.step("write"):
        for t in tables:
            study.table(t, pd.DataFrame({"x": [value, 2.0]}))
        study.number("x.value", value)
        if fail_in_step:
            raise ArgumentError("a late failure")
    return study.finish()


# --------------------------------------------------------------------------- staging and swap
def test_nothing_is_in_place_until_finish_and_then_the_run_is_whole(tmp_path):
    out = tmp_path / "res"
    study = Study("t", out, seed=1, verbose=False)
    study.table("a", pd.DataFrame({"x": [1.0]}))
    assert not out.exists() and study.staging.is_dir()
    assert study.staging.parent == tmp_path and study.staging.name == f"res.staging-{os.getpid()}"
    study.finish()
    assert_consistent(out)
    with pytest.raises(ResultsFolderError, match="finished"):
        study.table("b", pd.DataFrame({"x": [1.0]}))


def test_a_failed_run_leaves_the_previous_run_byte_identical(tmp_path):
    out = tmp_path / "res"
    small_run(out, tables=("a", "b"))
    before = snapshot(out)
    with pytest.raises(ArgumentError, match="late failure"):
        small_run(out, tables=("a", "c"), fail_in_step=True, value=9.0)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".res.lock", "res"]
    # the lock was released: the next run goes through
    small_run(out, tables=("c",))
    assert_consistent(out)


def test_outputs_of_an_earlier_run_do_not_linger(tmp_path):
    out = tmp_path / "res"
    small_run(out, tables=("simulation_only", "shared"))
    small_run(out, tables=("shared",))
    manifest = assert_consistent(out)
    assert set(manifest["outputs"]) == {"tables/shared.csv", "numbers.json"}
    assert not (out / "tables" / "simulation_only.csv").exists()


def test_a_dropped_study_releases_its_lock_and_staging(tmp_path):
    out = tmp_path / "res"
    study = Study("t", out, verbose=False)
    staging = study.staging
    del study
    assert not staging.exists()
    small_run(out)
    assert_consistent(out)


def test_strays_of_killed_runs_are_cleaned_and_a_half_swapped_run_is_restored(tmp_path):
    out = tmp_path / "res"
    small_run(out, value=1.0)
    before = snapshot(out)
    # a run killed between the two renames of its swap: the complete run sits at res.old-<pid>
    os.rename(out, tmp_path / "res.old-999999")
    (tmp_path / "res.staging-999998" / "tables").mkdir(parents=True)
    (tmp_path / "res.staging-999998" / "tables" / "half.csv").write_text("x\n")
    study = Study("t", out, verbose=False)  # cleans up under the lock
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".res.lock", "res", f"res.staging-{os.getpid()}"]
    study.abandon()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".res.lock", "res"]


def test_stray_tmp_files_of_old_killed_runs_are_removed(tmp_path):
    out = tmp_path / "res"
    small_run(out)
    (out / "tables" / ".a.csv.x1y2.tmp").write_text("half")
    small_run(out)
    assert_consistent(out)


# --------------------------------------------------------------------------- refusals
def test_a_second_run_into_the_same_folder_is_refused_while_one_runs(tmp_path):
    out = tmp_path / "res"
    first = Study("t", out, verbose=False)
    with pytest.raises(ResultsFolderError, match=r"another run is writing.*process \d+"):
        Study("t", out, verbose=False)
    first.table("a", pd.DataFrame({"x": [1.0]}))
    first.finish()
    assert_consistent(out)
    small_run(out)  # free again


@pytest.mark.parametrize("layout,match", [
    ({"notes.txt": "mine"}, "holds no manifest.json"),
    ({"manifest.json": '{"study": "other", "outputs": {}}', "numbers.json": "{}"},
     "holds the results of study 'other'"),
    ({"manifest.json": "{not json", "numbers.json": "{}"}, "cannot be read"),
])
def test_a_folder_that_is_not_this_studys_is_refused_untouched(tmp_path, layout, match):
    out = tmp_path / "res"
    out.mkdir()
    for rel, text in layout.items():
        (out / rel).write_text(text)
    before = snapshot(out)
    with pytest.raises(ResultsFolderError, match=match) as info:
        Study("t", out, verbose=False)
    assert str(out) in str(info.value) and "--out" in str(info.value)
    assert snapshot(out) == before
    assert not list(tmp_path.glob("res.staging-*"))


def test_foreign_files_beside_this_studys_outputs_are_refused(tmp_path):
    out = tmp_path / "res"
    small_run(out)
    (out / "my_notes.docx").write_text("hours of work")
    with pytest.raises(ResultsFolderError, match="not outputs of the study") as info:
        small_run(out)
    assert "my_notes.docx" in str(info.value)
    assert (out / "my_notes.docx").read_text() == "hours of work"


@pytest.mark.parametrize("rel", ["tables/my_table.csv", "figures/draft.png",
                                 "index/old_index.json", "tables/sub/deeper.txt"])
def test_foreign_files_inside_the_output_folders_are_refused_too(tmp_path, rel):
    """A file the last run's manifest does not list is refused wherever it sits: the swap
    replaces the whole folder, so a hand-made table in tables/ would be deleted silently."""
    out = tmp_path / "res"
    small_run(out)
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    (out / rel).write_text("hours of work")
    before = snapshot(out)
    with pytest.raises(ResultsFolderError, match="not outputs of the study") as info:
        small_run(out, value=2.0)
    message = str(info.value)
    assert rel in message and str(out) in message
    assert "Move those files out of the folder first, or pass another --out" in message
    assert snapshot(out) == before
    assert not list(tmp_path.glob("res.staging-*"))
    (out / rel).unlink()  # moved away: the next run goes through
    small_run(out, value=2.0)
    assert_consistent(out)


def test_a_folder_holding_an_input_is_refused(tmp_path):
    out = tmp_path / "res"
    small_run(out)
    data = out / "tables" / "a.csv"
    before = snapshot(out)
    with pytest.raises(ResultsFolderError, match="holds an input of this run"):
        Study("t", out, inputs=[data], verbose=False)
    with pytest.raises(ResultsFolderError, match="holds an input"):
        Study("t", tmp_path, inputs=[tmp_path / "elsewhere.csv"], verbose=False)
    config = out / "c.toml"
    with pytest.raises(ResultsFolderError, match="holds an input"):
        Study("t", out, config_path=config, verbose=False)
    assert snapshot(out) == before


def test_a_file_is_not_a_results_folder(tmp_path):
    target = tmp_path / "res"
    target.write_text("data")
    with pytest.raises(ResultsFolderError, match="is a file"):
        check_results_folder(target, "t")
    assert target.read_text() == "data"


# --------------------------------------------------------------------------- flags
def test_flagged_numbers_go_to_numbers_json_and_the_manifest(tmp_path):
    out = tmp_path / "res"
    study = Study("t", out, verbose=False)
    heywood = Flag("heywood", "negative variance estimate: x1 ~~ x1 = -0.2", ("x1 ~~ x1",))
    study.number("rel.a.omega", 1.2, flags=[heywood])
    study.number("rel.a.alpha", 0.8, flags="")
    study.number("rel.b.omega", 0.7, flags="not_converged: the optimiser did not converge")
    study.number("rel.c.omega", 0.9, flags=float("nan"))  # an empty cell of a table
    assert study.accept("rel.b", "checked by hand: converges from other starts") == 1
    with pytest.raises(ArgumentError, match="reason"):
        study.accept("rel.a", "  ")
    with pytest.raises(ArgumentError, match="_flags"):
        study.number("_flags.x", 1)
    manifest = study.finish()
    numbers = json.loads((out / "numbers.json").read_text())
    assert numbers["_flags"] == {
        "rel.a.omega": {"flags": str(heywood), "accepted": None},
        "rel.b.omega": {"flags": "not_converged: the optimiser did not converge",
                        "accepted": "checked by hand: converges from other starts"}}
    assert numbers["rel"]["a"]["omega"] == 1.2
    assert manifest["flags"] == {"flagged": 2, "accepted": 1, "unaccepted": ["rel.a.omega"]}


def test_a_flag_is_not_dropped_by_recording_the_number_again(tmp_path):
    study = Study("t", tmp_path / "res", verbose=False)
    study.number("a", 1.0, flags="heywood: x")
    with pytest.raises(ArgumentError, match="recorded twice with other flags"):
        study.number("a", 1.0)
    assert study.flags() == {"a": {"flags": "heywood: x", "accepted": None}}
    study.abandon()


def test_accepting_before_the_number_is_recorded(tmp_path):
    study = Study("t", tmp_path / "res", verbose=False)
    study.accept("b", "accepted before the number exists")
    study.number("b.c", 2.0, flags="heywood: y")
    assert study.flags() == {"b.c": {"flags": "heywood: y",
                                     "accepted": "accepted before the number exists"}}
    study.abandon()


# --------------------------------------------------------------------------- property test
FILE_NAMES = st.sampled_from(["a", "b", "c", "d"])


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=st.sampled_from(["absent", "empty", "ours", "ours+foreign", "other_study",
                              "no_manifest", "ours+tmp"]),
       strays=st.lists(st.sampled_from(["staging", "old"]), max_size=2),
       tables=st.lists(FILE_NAMES, min_size=1, max_size=3, unique=True),
       fail=st.booleans())
def test_property_a_folder_holds_one_complete_run_or_is_untouched(tmp_path_factory, state,
                                                                  strays, tables, fail):
    base = tmp_path_factory.mktemp("prop")
    out = base / "res"
    if state != "absent":
        out.mkdir()
    if state.startswith("ours"):
        small_run(out, tables=("a", "z"))
    if state == "ours+foreign":
        (out / "foreign.txt").write_text("x")
    if state == "ours+tmp":
        (out / "tables" / ".z.csv.abc.tmp").write_text("half")
    if state == "other_study":
        small_run(out, name="other")
    if state == "no_manifest":
        (out / "tables").mkdir()
        (out / "tables" / "a.csv").write_text("x\n1\n")
    for i, kind in enumerate(strays):
        stray = base / (f"res.staging-{900000 + i}" if kind == "staging" else f"res.old-{900000 + i}")
        stray.mkdir()
        (stray / "numbers.json").write_text("{}")
    before = snapshot(out)
    refused = state in ("ours+foreign", "other_study", "no_manifest")
    try:
        small_run(out, tables=tables, fail_in_step=fail, value=5.0)
        outcome = "finished"
    except ResultsFolderError:
        outcome = "refused"
    except ArgumentError:
        outcome = "failed"
    if refused:
        assert outcome == "refused"
    elif fail:
        assert outcome == "failed"
    else:
        assert outcome == "finished"
    if outcome == "finished":
        manifest = assert_consistent(out)
        assert set(manifest["outputs"]) == {f"tables/{t}.csv" for t in tables} | {"numbers.json"}
    else:  # untouched, byte for byte (but for temporary files of a killed writer)
        assert snapshot(out) == {k: v for k, v in before.items()
                                 if not (outcome == "failed" and k.endswith(".tmp"))}
        assert not list(base.glob(f"res.staging-{os.getpid()}"))


# --------------------------------------------------------------------------- real study runs
WHY_LIKE = [sys.executable, str(ROOT / "studies" / "why_like.py")]


def _wait_for(predicate, timeout=60.0, proc=None):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


@pytest.fixture(scope="module")
def template_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("template") / "why_like"
    subprocess.run([*WHY_LIKE, "--out", str(out), "--quiet"], check=True, env=ENV, cwd=ROOT,
                   timeout=300)
    assert_consistent(out)
    return out


@pytest.fixture
def complete_run(template_run, tmp_path):
    """A complete run of the real study (a copy of one made once per module)."""
    import shutil

    out = tmp_path / "why_like"
    shutil.copytree(template_run, out)
    return out


def _default_sigint():
    """In the child: SIGINT back to its default action. A test suite started in the background
    (e.g. ``cmd &`` from a non-interactive shell) runs with SIGINT ignored, which its children
    inherit; Python then installs no KeyboardInterrupt handler and the run cannot be interrupted,
    as Unix intends for background jobs. The test sends SIGINT as a terminal's Ctrl-C would."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _started_writing(out: Path):
    """True once a run into ``out`` has written its first table into its staging folder."""
    return lambda: any((p / "tables" / "reasons.csv").exists()
                       for p in out.parent.glob(out.name + ".staging-*"))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM],
                         ids=["SIGKILL", "SIGINT", "SIGTERM"])
def test_a_killed_or_interrupted_real_run_leaves_the_previous_run_byte_identical(complete_run,
                                                                                 sig):
    out = complete_run
    before = snapshot(out)
    # on a loaded machine the run (2 s) may finish between the poll that saw it writing and the
    # signal: then the folder must hold the new complete run, and the attempt is made again
    for _attempt in range(5):
        proc = subprocess.Popen([*WHY_LIKE, "--out", str(out)], env=ENV, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=_default_sigint)
        assert _wait_for(_started_writing(out), proc=proc), proc.communicate()
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
        if proc.returncode != 0:
            break
        assert_consistent(out)  # it finished first: a complete new run, nothing mixed
        before = snapshot(out)
    else:
        pytest.fail("five runs finished before the signal reached them")
    assert snapshot(out) == before
    if sig != signal.SIGKILL:
        what = "interrupted" if sig == signal.SIGINT else "terminated"
        assert proc.returncode == (130 if sig == signal.SIGINT else 143)
        assert stderr.strip().splitlines() == [
            f"why_like.py: {what}; the results folder holds the previous complete run "
            "(if any)"]
        assert "Traceback" not in stderr
        assert not list(out.parent.glob("why_like.staging-*"))  # removed on the way out
    else:
        assert proc.returncode == -signal.SIGKILL
        assert list(out.parent.glob("why_like.staging-*"))  # a killed run cannot tidy up
    if sig != signal.SIGKILL:
        return
    # the next run cleans the strays up and replaces the folder whole
    subprocess.run([*WHY_LIKE, "--out", str(out), "--quiet"], check=True, env=ENV, cwd=ROOT,
                   timeout=300)
    assert_consistent(out)
    assert snapshot(out).keys() == before.keys()


def test_two_concurrent_real_runs_one_is_refused_and_the_folder_stays_consistent(complete_run):
    out = complete_run
    first = subprocess.Popen([*WHY_LIKE, "--out", str(out), "--quiet"], env=ENV, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(_started_writing(out), proc=first), first.communicate()
    assert_consistent(out, running=True)  # mid-run: still the previous complete run
    second = subprocess.run([*WHY_LIKE, "--out", str(out), "--quiet"], env=ENV, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "why_like.py: error: ResultsFolderError: another run is writing this results folder")
    assert f"process {first.pid}" in lines[0]
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert_consistent(out)


def test_an_output_path_cannot_leave_the_folder_or_replace_the_manifest(tmp_path):
    study = Study("t", tmp_path / "res", verbose=False)
    for bad in ("../escape.txt", "/etc/x", "manifest.json"):
        with pytest.raises(ArgumentError, match="relative"):
            study.file(bad, "x")
    assert not (tmp_path / "escape.txt").exists()
    study.abandon()


@pytest.mark.parametrize("value,kind,ok", [
    (True, "int", False), (3, "int", True), (3, "float", True), (float("nan"), "float", False),
    ("3", "float", False), ([1, 2], "list[int]", True), ([1, "2"], "list[int]", False),
    (1, "bool", False), ({"a": 1}, "table", True),
])
def test_config_values_are_checked_by_kind(value, kind, ok):
    from connection.errors import ConfigError
    from connection.study import setting

    config = {"s": {"k": value}}
    if ok:
        assert setting(config, "s.k", kind) == value
    else:
        with pytest.raises(ConfigError, match="'s.k' has the wrong type"):
            setting(config, "s.k", kind, file="c.toml")


def test_out_given_as_dot_names_the_folder_itself(tmp_path, monkeypatch):
    """`--out .` in an empty folder: the lock and staging folder go beside the folder (not a
    `..lock` inside it that then makes the folder look foreign), and a second run replaces it."""
    folder = tmp_path / "here"
    folder.mkdir()
    monkeypatch.chdir(folder)
    for seed, out in ((1, "."), (2, str(folder))):  # the swap replaces the cwd: then absolute
        study = Study("demo", out, seed=seed, config={"n": 1}, verbose=False)
        study.table("t", pd.DataFrame({"x": [float(seed)]}))
        study.finish()
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "numbers.json", "tables"]
    assert json.loads((folder / "manifest.json").read_text())["seed"] == 2
    assert (tmp_path / ".here.lock").exists()
