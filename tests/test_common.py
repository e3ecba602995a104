"""The shared primitives (connection/_common.py) and the Report object (connection/_report.py)."""

from __future__ import annotations

import inspect
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from connection._common import (
    DEFAULT_N_BOOT,
    as_generator,
    as_seed_sequence,
    check_choice,
    check_level,
    check_n_boot,
    renamed_keywords,
    spawn,
    warn,
    z_critical,
)
from connection._flags import Flag
from connection._report import Report
from connection.errors import ArgumentError


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_z_critical_is_the_two_sided_normal_quantile(level):
    assert z_critical(level) == pytest.approx(stats.norm.ppf(0.5 + level / 2), rel=1e-12)


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, 95, "0.95", None, True, float("nan")])
def test_a_level_outside_0_1_is_an_argument_error(bad):
    with pytest.raises(ArgumentError, match="level"):
        check_level(bad)


@pytest.mark.parametrize("bad", [-1, 1.5, 2.0, "100", True, None])
def test_n_boot_must_be_a_whole_number_0_or_more(bad):
    with pytest.raises(ArgumentError, match="n_boot"):
        check_n_boot(bad)
    assert check_n_boot(np.int64(5)) == 5 and DEFAULT_N_BOOT == 2000


def test_check_choice_lists_the_choices():
    with pytest.raises(ArgumentError, match="'holm', 'bh'"):
        check_choice("hlm", "correction", ["holm", "bh"])
    assert check_choice("bh", "correction", ["holm", "bh"]) == "bh"
    with pytest.raises(ArgumentError):
        check_choice(["x"], "correction", ["holm"])  # unhashable: an error, not a TypeError


def test_every_seed_form_gives_reproducible_streams():
    a = as_generator(7).normal(size=5)
    assert np.array_equal(a, as_generator(np.int64(7)).normal(size=5))
    assert np.array_equal(a, as_generator(np.random.SeedSequence(7)).normal(size=5))
    # a Generator is consumed: the same state gives the same streams, and it moves on
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    x, y = as_generator(g1).normal(size=5), as_generator(g2).normal(size=5)
    assert np.array_equal(x, y)
    assert not np.array_equal(x, as_generator(g1).normal(size=5))
    kids = spawn(7, 3)
    assert len(kids) == 3 and len({k.generate_state(1)[0] for k in kids}) == 3


@pytest.mark.parametrize("bad", [1.5, "7", True, -1, [1, 2]])
def test_a_bad_seed_is_an_argument_error_not_numpys_type_error(bad):
    with pytest.raises(ArgumentError, match="seed"):
        as_seed_sequence(bad)


def test_warn_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn("look here", UserWarning)
    assert caught[0].filename == __file__


@renamed_keywords(by="groups")
def _renamed(data, *, groups=None, level=0.95):
    """Doc kept."""
    return (data, groups, level)


def test_renamed_keywords_warn_keep_signature_and_pickle():
    with pytest.warns(FutureWarning, match="by= is renamed groups="):
        assert _renamed(1, by="g") == (1, "g", 0.95)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _renamed(1, groups="g") == (1, "g", 0.95)
    with pytest.raises(ArgumentError, match="both by="):
        _renamed(1, by="a", groups="b")
    assert list(inspect.signature(_renamed).parameters) == ["data", "groups", "level"]
    assert _renamed.__doc__ == "Doc kept."
    assert pickle.loads(pickle.dumps(_renamed))(2) == (2, None, 0.95)
    with pytest.raises(TypeError, match="no parameter"):
        renamed_keywords(a="missing")(_renamed.__wrapped__)


def test_report_renders_the_same_content_three_ways():
    frame = pd.DataFrame({"con_struct": ["a<b", "c"], "alpha": [0.84123, float("nan")],
                          "n": [120, 80], "ok": [True, False]})
    r = Report("Test_report", header=[("Respondents", 200), ("Level", 0.95)],
               flags=[Flag("heywood", "negative variance x1 ~~ x1 = -0.2")], notes=["a & b"])
    r.add_table(frame, "Table 1", digits=2)
    text = str(r)
    assert text.index("NOT ADMISSIBLE") < text.index("Table 1")  # flags come before the tables
    assert "0.84" in text and "0.841" not in text and "nan" not in text.lower()
    assert "yes" in text and "heywood: negative variance" in text
    page = r._repr_html_()
    assert "a&lt;b" in page and "<table" in page and "Not admissible" in page
    tex = r._repr_latex_()
    assert r"con\_struct" in tex and r"a \& b" in tex and r"Test\_report" in tex
    assert tex.count(r"\begin{tabular}") == 1
    # an admissible result shows no warning
    assert "ADMISSIBLE" not in str(Report("x", flags=["", ""]))


def test_report_number_formatting():
    r = Report("n").add_table(pd.DataFrame({"p": [1e-7, 0.0, 12345678.0, -2.5]}), digits=3)
    cells = str(r).splitlines()[-4:]
    assert [c.strip() for c in cells] == ["1e-07", "0.000", "1.23e+07", "-2.500"]


def test_report_text_aligns_text_left_numbers_right_and_shows_whole_columns_as_integers():
    frame = pd.DataFrame({"step": ["configural", "scalar (partial)"], "df": [48.0, 58.0],
                          "cfi": [0.9234, 0.919], "partial": ["", "x3 ~1"]})
    lines = str(Report("t").add_table(frame)).splitlines()[-3:]
    assert lines[0].split() == ["step", "df", "cfi", "partial"]
    assert lines[1].startswith("configural ") and lines[2].startswith("scalar (partial)")
    assert " 48 " in lines[1] and "48.000" not in lines[1]          # whole numbers as integers
    assert lines[1].index("0.923") + 5 == lines[2].index("0.919") + 5  # numbers right-aligned
    assert lines[2].endswith("x3 ~1")
    # a float column with a fraction keeps its decimals; NaN stays blank
    mixed = pd.DataFrame({"x": [1.0, 2.5, float("nan")]})
    assert [c.strip() for c in str(Report("m").add_table(mixed)).split("\n")[-3:]] == \
        ["1.000", "2.500", ""]
