"""Why people follow or "like" brands on social networking sites (Nielsen 2011): shares and their honest uncertainty.

    python studies/why_like.py [--out DIR] [--config FILE] [--data FILE]

Reads the published shares from the package's data file (``connection/published/published_figures.csv``,
study ``nielsen_2011``), and writes to ``results/why_like/`` (or ``--out``):

* ``tables/reasons.csv``       every published reason, its share and status (U rows labelled);
* ``tables/ci_by_n.csv``       Wilson interval of the two headline shares at each hypothetical n;
* ``tables/difference_by_n.csv`` discounts minus support at each hypothetical n (multinomial
                                 variance: both shares come from the same respondents);
* ``tables/ci_at_marks.csv``   the same at a few round values of n, for a table in the paper;
* ``numbers.json``, ``figures/why_like_reasons.*``, ``figures/why_like_ci_by_n.*``,
  ``manifest.json``.

The survey's sample size was never published, so no interval is reported at any particular n.
The one sample-size-free result is the smallest n at which "discounts" and "support" would differ
significantly. Deterministic: no randomness is involved.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from connection.context import (
    ci_curve,
    diff_shares,
    load_published_figures,
    min_n_significant,
    proportion_ci,
    published_figures_path,
)
from connection.errors import ConfigError
from connection.study import (
    Study,
    check_results_folder,
    parse_study_args,
    read_toml,
    run_cli,
    setting,
    study_parser,
)

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE / "why_like.toml"


def read_config(path: Path) -> dict:
    """Read and check the study config: every key, its type and range (ConfigError naming the
    file and the key otherwise)."""
    config = read_toml(path)
    for key in ("study", "n_grid"):
        if not isinstance(config.get(key), dict):
            raise ConfigError(f"the config has no [{key}] table", file=str(path))
    f = {"file": path}
    setting(config, "study.name", "str", nonempty=True, **f)
    setting(config, "study.data_study", "str", nonempty=True, **f)
    setting(config, "study.level", "float", above=0, maximum=0.9999, **f)
    setting(config, "study.share_1", "str", nonempty=True, **f)
    setting(config, "study.share_2", "str", nonempty=True, **f)
    lo = setting(config, "n_grid.min", "int", minimum=1, **f)
    hi = setting(config, "n_grid.max", "int", minimum=2, maximum=10_000_000, **f)
    setting(config, "n_grid.points", "int", minimum=2, maximum=100_000, **f)
    setting(config, "n_grid.marks", "list[int]", minimum=1, maximum=10_000_000, nonempty=True,
            **f)
    grid = config["n_grid"]
    if not lo < hi:
        raise ConfigError("the n grid must run from min >= 1 up to a larger max, with >= 2 "
                          "points", file=str(path), values=[grid["min"], grid["max"],
                                                            grid["points"]])
    return config


def read_figures(path: Path) -> pd.DataFrame:
    """The published-figures file (every row); a missing, undecodable or unparsable file is a
    DataError naming it (checked by :func:`connection.context.load_published_figures`)."""
    return load_published_figures(path, include_unconfirmed=True)


def n_grid(grid: dict) -> np.ndarray:
    """Log-spaced hypothetical sample sizes, rounded to whole respondents."""
    values = np.geomspace(grid["min"], grid["max"], grid["points"])
    return np.unique(np.round(values))


def n_where_ci_narrower(p: float, half_width: float, level: float) -> int:
    """Smallest whole n at which the Wilson half-width of ``p`` drops below ``half_width``."""
    hi = 1
    while proportion_ci(p, hi, level=level).eval("(ci_upper - ci_lower) / 2")[0] >= half_width:
        hi *= 2
    n = np.arange(hi // 2, hi + 1)
    ci = proportion_ci(p, n, level=level)
    return int(n[((ci.ci_upper - ci.ci_lower) / 2 < half_width).to_numpy().argmax()])


def run(out: Path, config_path: Path = DEFAULT_CONFIG, data_path: Path | None = None,
        argv: list[str] | None = None, verbose: bool = True) -> dict:
    config = read_config(config_path)
    cfg = config["study"]
    level = float(cfg["level"])
    data_file = Path(data_path) if data_path is not None else published_figures_path()
    # everything is read and checked before the results folder is touched
    check_results_folder(out, cfg["name"], [config_path, data_file])
    every = read_figures(data_file)
    rows = every[every["study"] == cfg["data_study"]].copy()
    if rows.empty:
        raise ConfigError("no rows of this study in the data file", file=str(config_path),
                          values=[cfg["data_study"]], expected="a study in the data file")
    by_id = rows.set_index("id")
    for key in ("share_1", "share_2"):
        fid = cfg[key]
        if fid not in by_id.index:
            raise ConfigError(f"{key} names a figure that is not in the study's rows",
                              file=str(config_path), values=[fid])
        if not by_id.loc[fid, "confirmed"]:
            raise ConfigError(f"{key} names an unconfirmed (status U) figure: it cannot "
                              "enter a statistic", file=str(config_path), values=[fid])
        if not pd.isna(by_id.loc[fid, "n"]):
            raise ConfigError(f"{key} has a published n: this study is written for an "
                              "unknown n; use connection.context.proportion_ci instead",
                              file=str(config_path), values=[fid])
    study = Study(cfg["name"], out, seed=None, config=config, config_path=config_path,
                  argv=argv, verbose=verbose, steps_total=4, inputs=[data_file])

    with study.step("published shares"):
        study.record_data(data_file, {"file": data_file.name, "rows": len(every)})
        reasons = rows[["id", "item", "value", "proportion", "status", "n_basis", "note",
                        "source"]].copy()
        reasons["used_in_statistics"] = reasons["id"].isin([cfg["share_1"], cfg["share_2"]])
        reasons["interval"] = "none: sample size not published"
        study.table("reasons", reasons)
        confirmed = rows[rows["confirmed"]]
        unconfirmed = rows[~rows["confirmed"]]
        study.number("why_like.source", str(rows["source"].iloc[0]))
        study.number("why_like.n_published", False)
        study.number("why_like.reasons_confirmed", len(confirmed))
        study.number("why_like.reasons_unconfirmed", len(unconfirmed))
        study.number("why_like.confirmed_share_total", float(confirmed["proportion"].sum()))
        study.number("why_like.unconfirmed_share_total", float(unconfirmed["proportion"].sum()))
        study.number_table("why_like.share", confirmed, key="id", value="proportion",
                           flags_column=None)

    p1 = float(by_id.loc[cfg["share_1"], "proportion"])
    p2 = float(by_id.loc[cfg["share_2"], "proportion"])
    label_1, label_2 = by_id.loc[cfg["share_1"], "item"], by_id.loc[cfg["share_2"], "item"]

    with study.step("intervals as a function of n"):
        grid = n_grid(config["n_grid"])
        curve = ci_curve({label_1: p1, label_2: p2}, grid, level=level)
        study.table("ci_by_n", curve)
        difference = diff_shares(p1, p2, grid, level=level)
        study.table("difference_by_n", difference)
        marks = np.asarray(config["n_grid"]["marks"], dtype=float)
        at_marks = ci_curve({label_1: p1, label_2: p2}, marks, level=level)
        diff_marks = diff_shares(p1, p2, marks, level=level)
        diff_marks = diff_marks.assign(label=f"{label_1} minus {label_2}", proportion=p1 - p2,
                                       half_width=(diff_marks.ci_upper - diff_marks.ci_lower) / 2)
        table = pd.concat([
            at_marks[["label", "n", "proportion", "ci_lower", "ci_upper", "half_width"]],
            diff_marks[["label", "n", "proportion", "ci_lower", "ci_upper", "half_width",
                        "pvalue"]],
        ], ignore_index=True)
        table.insert(0, "n_status", "hypothetical (survey n not published)")
        study.table("ci_at_marks", table)

    with study.step("discounts vs support"):
        n_min = min_n_significant(p1, p2, level=level)
        study.number("why_like.comparison.share_1", cfg["share_1"])
        study.number("why_like.comparison.share_2", cfg["share_2"])
        study.number("why_like.comparison.difference", p1 - p2)
        study.number("why_like.comparison.ratio", p1 / p2)
        study.number("why_like.comparison.min_n_significant", n_min)
        study.number("why_like.comparison.level", level)
        # Reported shares are rounded to whole percentages, so each is known only to +-0.5 points;
        # beyond this n the sampling interval of the larger share is narrower than that rounding.
        n_round = n_where_ci_narrower(max(p1, p2, key=lambda p: p * (1 - p)), 0.005, level)
        study.number("why_like.rounding.halfwidth", 0.005)
        study.number("why_like.rounding.n_where_ci_narrower_than_rounding", n_round)
        at = diff_marks[diff_marks.n.isin([100, 1000])].drop_duplicates("n")
        at = at.assign(at="at_n_" + at.n.astype(int).astype(str))
        study.number_table("why_like.comparison", at, key="at",
                           columns=["ci_lower", "ci_upper", "pvalue"], flags_column=None)

    with study.step("figures"):
        from connection.plots.context import ci_by_n, reasons_bars

        order = rows.assign(_u=~rows["confirmed"]).sort_values(
            ["_u", "proportion"], ascending=[True, False], kind="mergesort")
        title = reasons_title(rows)
        study.number("why_like.figure_title", title)
        study.figure("why_like_reasons", reasons_bars(order, title=title))
        study.figure("why_like_ci_by_n", ci_by_n(curve, difference, min_n=n_min, level=level))

    return study.finish()


def reasons_title(rows: pd.DataFrame) -> str:
    """The reasons figure's title: the chart's own question, as the data file words it (one
    question for every row), wrapped to the figure's width, and the source."""
    import textwrap

    questions = rows["question"].drop_duplicates().tolist()
    if len(questions) != 1:
        raise ConfigError("the reasons of one chart must share one question",
                          values=questions, expected="the same question on every row")
    question = questions[0].replace(" / ", " or ")
    text = f"{question[:1].upper()}{question[1:]} (Nielsen, 2011)"
    return "\n".join(textwrap.wrap(text, width=58))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = study_parser("why_like.py", __doc__.splitlines()[0], config=DEFAULT_CONFIG,
                          out="results/why_like",
                          data="published-figures file (default: the package's own)")
    args = parse_study_args(parser, argv)
    run(args.out or Path("results") / "why_like", args.config, args.data,
        argv=["studies/why_like.py", *argv], verbose=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main, prog="why_like.py"))
