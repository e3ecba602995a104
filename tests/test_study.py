"""Study runner: output layout, number keys, manifest provenance, byte-reproducible figures."""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from connection.errors import ArgumentError
from connection.study import Study, round_sig

SCRIPT = """
import sys
import numpy as np, pandas as pd
from connection.study import Study
from connection import plots
study = Study("t", sys.argv[1], seed=3, config={"a": 1}, verbose=False)
rng = np.random.default_rng(3)
x = rng.normal(size=50)
study.table("x", pd.DataFrame({"x": x}))
study.number("x.mean", x.mean())
fig, ax = plots.new_figure()
ax.hist(x)
study.figure("hist", fig)
study.finish()
"""


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_processes_write_byte_identical_outputs(tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        subprocess.run([sys.executable, "-c", SCRIPT, str(out)], check=True,
                       env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    for rel in ["tables/x.csv", "numbers.json", "figures/hist.png", "figures/hist.pdf"]:
        assert _digest(outs[0] / rel) == _digest(outs[1] / rel), rel
    manifest = json.loads((outs[0] / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["config"] == {"a": 1}
    assert set(manifest["outputs"]) == {"tables/x.csv", "numbers.json", "figures/hist.png",
                                        "figures/hist.pdf"}
    assert manifest["outputs"]["tables/x.csv"] == _digest(outs[0] / "tables/x.csv")
    assert "numpy" in manifest["packages"] and "total" in manifest["timings_seconds"]


def test_numbers_nest_by_dotted_key_and_round_to_ten_digits(tmp_path):
    study = Study("t", tmp_path, verbose=False)
    study.number("a.b.c", np.float64(1 / 3))
    study.number("a.d", 2)
    assert study.numbers == {"a": {"b": {"c": 0.3333333333}, "d": 2}}
    with pytest.raises(ArgumentError, match="'a.d.e' would nest under 'a.d'"):
        study.number("a.d.e", 1.0)


def test_round_sig_handles_nested_values_and_non_finite():
    assert round_sig({"x": [1.23456789012345, float("nan")]}) == {"x": [1.23456789, None]}
    assert round_sig(np.int64(4)) == 4


def test_record_data_hash_changes_with_the_data(tmp_path):
    study = Study("t", tmp_path, verbose=False)
    h1 = study.record_data(pd.DataFrame({"x": [1.0, 2.0]}))
    h2 = study.record_data(pd.DataFrame({"x": [1.0, 2.0000001]}))
    assert h1 != h2 and len(h1) == 64


def test_extra_files_are_written_and_listed_in_the_manifest(tmp_path):
    study = Study("t", tmp_path, verbose=False)
    study.file("index/connection_index.json", '{"a": 1}\n')
    study.file("raw.bin", b"\x00\x01")
    manifest = study.finish()
    assert (tmp_path / "index/connection_index.json").read_text() == '{"a": 1}\n'
    assert manifest["outputs"]["raw.bin"] == hashlib.sha256(b"\x00\x01").hexdigest()


def test_outputs_get_ordinary_file_permissions(tmp_path):
    import os

    from connection._io import write_text

    mask = os.umask(0o022)
    try:
        path = write_text(tmp_path / "x.txt", "x")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_package_versions_skip_what_is_not_installed_and_leave_pingouin_out(monkeypatch):
    """The manifest's package list: pingouin is no runtime dependency any more, and a package
    that is not installed is left out (no error, no placeholder)."""
    from importlib import metadata

    from connection import study as study_module

    assert "pingouin" not in study_module._PACKAGES
    real = metadata.version

    def version(name):
        if name in ("scipy", "connection"):
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(study_module.metadata, "version", version)
    versions = study_module.package_versions()
    assert "scipy" not in versions and "pingouin" not in versions
    assert versions["numpy"] == real("numpy")
    # the package itself, never installed (a source tree): its __version__
    import connection

    assert versions["connection"] == connection.__version__
    assert study_module.package_versions(["no-such-package-x"]) == {}


def test_record_params_puts_an_estimators_set_up_in_the_manifest(tmp_path):
    class Estimator:
        def __init__(self, **p):
            self.p = p

        def get_params(self):
            return dict(self.p)

    study = Study("t", tmp_path, verbose=False)
    study.record_params("index", Estimator(model="f =~ a + b", ranges={"a": [1, 5]}))
    study.record_params("index", {"model": "f =~ a + b", "ranges": {"a": [1, 5]}})  # same: fine
    with pytest.raises(ArgumentError, match="recorded already with other values"):
        study.record_params("index", {"model": "f =~ a"})
    with pytest.raises(ArgumentError, match="not JSON values"):
        study.record_params("other", {"x": float("nan")})
    with pytest.raises(ArgumentError, match="get_params"):
        study.record_params("other", [1, 2])
    manifest = study.finish()
    assert manifest["parameters"] == {"index": {"model": "f =~ a + b", "ranges": {"a": [1, 5]}}}
