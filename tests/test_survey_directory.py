"""read_survey on a directory of Parquet/CSV files: lazy checks with Dask (issue 18)."""

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection import instruments
from connection.errors import (
    DuplicateIdError,
    EmptyFileError,
    ExclusionWarning,
    NoVarianceError,
    OutOfRangeError,
    UnsupportedFormatError,
)

dask = pytest.importorskip("dask")
pytest.importorskip("dask.dataframe")

INST = instruments.default().subset("loyalty")
ITEMS = INST.item_ids()


def _frames(seed=0, k=3, n=40):
    rng = np.random.default_rng(seed)
    frames = []
    for part in range(k):
        f = pd.DataFrame({c: rng.integers(1, 6, n).astype(float) for c in ITEMS})
        f.loc[rng.choice(n, 4, replace=False), ITEMS[0]] = -99  # the instrument's missing code
        f["rid"] = [f"r{part}_{i}" for i in range(n)]
        f["ac"] = np.where(rng.uniform(size=n) < 0.1, 1, 3)  # attention check: 3 passes
        f["seg"] = rng.choice(["a", "b"], n)
        frames.append(f)
    return frames


def _write(tmp_path, frames):
    for part, f in enumerate(frames):
        if part % 2:
            f.to_csv(tmp_path / f"part{part}.csv", index=False)
        else:
            f.to_parquet(tmp_path / f"part{part}.parquet")
    (tmp_path / "_SUCCESS").write_text("")
    return tmp_path


@pytest.fixture(autouse=True)
def _threads():
    with dask.config.set(scheduler="threads"):
        yield


def test_directory_equals_the_concatenated_read(tmp_path):
    frames = _frames()
    _write(tmp_path, frames)
    kw = dict(id_column="rid", attention_checks={"ac": 3}, group="seg")
    with pytest.warns(ExclusionWarning, match="in 3 files"):
        lazy = cx.read_survey(tmp_path, INST, **kw)
    with pytest.warns(ExclusionWarning):
        whole = cx.read_survey(pd.concat(frames, ignore_index=True), INST, **kw)
    assert lazy.n == whole.n and lazy.n_read == whole.n_read == 120
    got = lazy.data.compute()
    np.testing.assert_array_equal(got[ITEMS].to_numpy(), whole.data[ITEMS].to_numpy())
    assert got["rid"].tolist() == whole.data["rid"].tolist()
    # every exclusion reported, with the file and the row number within it
    assert lazy.exclusions["id"].tolist() == whole.exclusions["id"].tolist()
    assert (lazy.exclusions["reason"] == "attention_check").all() and len(lazy.exclusions) > 0
    first = lazy.exclusions.iloc[0]
    f = frames[int(first["file"].split("part")[-1][0])]
    assert f["rid"].iloc[first["row"] - 1] == first["id"]
    pd.testing.assert_frame_equal(lazy.missing_report(), whole.missing_report(),
                                  check_dtype=False)
    assert lazy.files["n_read"].tolist() == [40, 40, 40]
    assert len(lazy.raw.compute()) == 120


def test_a_problem_names_its_file(tmp_path):
    frames = _frames(seed=1)
    frames[1].loc[5, ITEMS[1]] = 9
    _write(tmp_path, frames)
    with pytest.raises(OutOfRangeError, match="part1.csv") as info:
        cx.read_survey(tmp_path, INST, id_column="rid")
    assert info.value.rows == [6]
    table = cx.check_survey(tmp_path, INST, id_column="rid")
    assert table["problem"].tolist() == ["OutOfRangeError"]


def test_ids_repeated_across_files(tmp_path):
    frames = _frames(seed=2)
    frames[2].loc[0, "rid"] = frames[0].loc[7, "rid"]
    _write(tmp_path, frames)
    with pytest.raises(DuplicateIdError, match="across the files") as info:
        cx.read_survey(tmp_path, INST, id_column="rid")
    assert "r0_7" in str(info.value) and "part0.parquet" in str(info.value)


def test_variance_is_judged_over_all_files(tmp_path):
    frames = _frames(seed=3)
    for part, f in enumerate(frames):  # constant within each file, different across files
        f[ITEMS[1]] = float(part + 1)
    _write(tmp_path, frames)
    survey = cx.read_survey(tmp_path, INST, id_column="rid")  # a per-file check would refuse
    assert survey.n == 120
    for f in frames:
        f[ITEMS[1]] = 2.0
    _write(tmp_path, frames)
    with pytest.raises(NoVarianceError, match="no variance"):
        cx.read_survey(tmp_path, INST, id_column="rid")


def test_what_is_not_data(tmp_path):
    with pytest.raises(EmptyFileError, match="no Parquet"):
        cx.read_survey(tmp_path, INST)
    _write(tmp_path, _frames(seed=4))
    (tmp_path / "notes.docx").write_text("x")
    with pytest.raises(UnsupportedFormatError, match="notes.docx"):
        cx.read_survey(tmp_path, INST, id_column="rid")


def test_column_types_that_differ_between_files(tmp_path):
    frames = _frames(seed=5)
    frames[0]["extra"] = np.arange(40)  # integers here, floats with a gap in the others
    for f in frames[1:]:
        f["extra"] = np.where(np.arange(40) == 3, np.nan, 1.5)
    _write(tmp_path, frames)
    survey = cx.read_survey(tmp_path, INST, id_column="rid")
    got = survey.data.compute()
    assert got["extra"].dtype == float and got["extra"].iloc[:3].tolist() == [0.0, 1.0, 2.0]
