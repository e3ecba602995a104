"""The perception gap: what marketers believe consumers want vs what consumers say.

    python studies/perception_gap.py [--out DIR] [--config FILE] [--data FILE]

Reads the published shares of CMO Council & Lithium (2011), IBM (2011) and Pivot (2012) from the
package's data file (``connection/published/published_figures.csv``), plus the published figures
the config lists under ``[[figures]]`` with their source (figures the data file does not hold,
e.g. the share of Pivot's marketers who think consumers want deals), and writes to
``results/perception_gap/`` (or ``--out``):

* ``tables/shares.csv``       every confirmed share, with its Wilson and exact intervals where
                              the sample size was published, and "none" where it was not;
* ``tables/gaps.csv``         consumers minus marketers for each comparable pair in the config:
                              Newcombe and Wald intervals and a pooled z-test where both n are
                              known, the bare difference (marked) where they are not, and for
                              every pair the smallest n per side at which the gap would be
                              significant (which needs no n);
* ``tables/gaps_sensitivity.csv`` the same gaps at the other sample sizes the sources allow
                              (config ``[n_alternatives]``);
* ``tables/same_sample.csv``  differences within one side (no interval: see the config);
* ``tables/reason_gaps.csv``  every reason of a full list (IBM 2011: 12 reasons), consumers
                              minus executives item by item: Newcombe intervals, pooled z-tests,
                              Holm-adjusted p-values and Bonferroni simultaneous intervals
                              (config ``[reasons]``), or why the list is incomplete;
* ``tables/rank_orders.csv``  Kendall's tau-b of the two sides' rank orders (ties share their
                              average rank) with its test, or why it was not computed;
* ``numbers.json``, ``figures/perception_gap_dumbbell.*`` (the full list's reasons, then the other
  pairs), ``manifest.json``.

Deterministic: no randomness is involved.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from connection.context import (
    diff_proportions,
    load_published_figures,
    min_n_significant,
    proportion_ci,
    published_figures_path,
    rank_agreement,
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
DEFAULT_CONFIG = HERE / "perception_gap.toml"
NO_N = "none: sample size not published"


def read_config(path: Path) -> dict:
    """Read and check the study config: every key, its type and range (ConfigError naming the
    file and the key otherwise)."""
    config = read_toml(path)
    if not isinstance(config.get("study"), dict):
        raise ConfigError("the config has no [study] table", file=str(path))
    f = {"file": path}
    setting(config, "study.name", "str", nonempty=True, **f)
    setting(config, "study.level", "float", above=0, maximum=0.9999, **f)
    setting(config, "study.studies", "list[str]", nonempty=True, **f)
    for table in ("pairs", "same_sample"):
        entries = setting(config, table, "list", default=[], **f)
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ConfigError(f"[[{table}]] entry {i + 1} is not a table", **f)
            names = (("key", "label", "consumers", "marketers", "comparability")
                     if table == "pairs" else ("key", "label", "first", "second"))
            for name in names:
                setting({"e": entry}, f"e.{name}", "str", nonempty=True, file=path)
            setting({"e": entry}, "e.why", "str", default="", file=path)
    _check_config_figures(config, path)
    keys = [p.get("key") for p in config.get("pairs", [])] + \
           [p.get("key") for p in config.get("same_sample", [])]
    if None in keys or len(set(keys)) != len(keys):
        raise ConfigError("every pair needs a unique key", file=str(path), values=keys)
    alternatives = setting(config, "n_alternatives", "table", default={}, **f)
    for fid, values in alternatives.items():
        if not (isinstance(values, list) and values
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                        for v in values)):
            raise ConfigError("alternative sample sizes must be whole numbers >= 1",
                              file=str(path), column=f"n_alternatives.{fid}",
                              values=list(values) if isinstance(values, list) else [values])
    for table in ("reasons", "rank_orders"):
        for name, opts in setting(config, table, "table", default={}, **f).items():
            if not isinstance(opts, dict):
                raise ConfigError(f"[{table}.{name}] is not a table", **f)
            setting({"e": opts}, "e.n_items", "int", minimum=2, file=path)
            if table == "reasons":
                setting({"e": opts}, "e.adjust", "str", default="holm", choices=["holm"],
                        file=path)
                setting({"e": opts}, "e.label", "str", default="", file=path)
    return config


CONFIG_FIGURE_KEYS = {"id": "str", "study": "str", "source": "str", "url": "str", "side": "str",
                      "population": "str", "question": "str", "item": "str"}


def _check_config_figures(config: dict, path: Path) -> None:
    """Each ``[[figures]]`` entry: a published percentage with its source and address, status P
    or S (an unconfirmed figure has no place in the config), and no sample size (none is given
    for any figure listed there; its gaps are shown without intervals)."""
    entries = setting(config, "figures", "list", default=[], file=path)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"[[figures]] entry {i + 1} is not a table", file=path)
        e = {"e": entry}
        for name, kind in CONFIG_FIGURE_KEYS.items():
            setting(e, f"e.{name}", kind, nonempty=True, file=path,
                    **({"choices": ["consumers", "marketers"]} if name == "side" else {}))
        if not str(entry["url"]).startswith(("https://", "http://")):
            raise ConfigError(f"[[figures]] {entry['id']!r}: url is not a web address",
                              file=path, values=[entry["url"]], expected="http(s)://...")
        setting(e, "e.value", "float", minimum=0, maximum=100, file=path)
        setting(e, "e.status", "str", choices=["P", "S"], file=path)
        setting(e, "e.year", "int", default=0, file=path)
        setting(e, "e.note", "str", default="", file=path)
        if "n" in entry:
            raise ConfigError(f"[[figures]] {entry['id']!r}: a sample size belongs in the data "
                              "file, not the config", file=path, values=[entry["n"]])


def with_config_figures(every: pd.DataFrame, config: dict, config_path: Path) -> pd.DataFrame:
    """The data file's figures and the config's ``[[figures]]`` (``origin`` says which); a config
    id that repeats a data-file id is a ConfigError."""
    every = every.assign(origin="data file")
    entries = config.get("figures", [])
    if not entries:
        return every
    ids = [e["id"] for e in entries]
    clash = sorted((set(ids) & set(every["id"])) | {i for i in ids if ids.count(i) > 1})
    if clash:
        raise ConfigError("[[figures]] ids repeat (in the config or in the data file)",
                          file=str(config_path), values=clash, expected="a new id for each")
    rows = pd.DataFrame([{
        "id": e["id"], "study": e["study"], "source": f"{e['source']}; {e['url']}",
        "year": str(e.get("year") or ""), "region": "", "population": e["population"],
        "side": e["side"], "question": e["question"], "item": e["item"],
        "value": float(e["value"]), "unit": "percent", "n": pd.NA, "n_basis": "unknown",
        "status": e["status"], "note": e.get("note", ""), "proportion": float(e["value"]) / 100,
        "confirmed": True, "origin": "config"} for e in entries])
    rows["n"] = rows["n"].astype("Int64")
    return pd.concat([every, rows[every.columns]], ignore_index=True)


def read_figures(path: Path) -> pd.DataFrame:
    """The published-figures file (every row); a missing, undecodable or unparsable file is a
    DataError naming it (checked by :func:`connection.context.load_published_figures`)."""
    return load_published_figures(path, include_unconfirmed=True)


def precheck(config: dict, every: pd.DataFrame, config_path: Path) -> None:
    """Every figure the config names exists, is confirmed and on the right side (before any
    output is written)."""
    cfg = config["study"]
    missing = [s for s in cfg["studies"] if s not in set(every["study"])]
    if missing:
        raise ConfigError("studies named in the config are not in the data file",
                          file=str(config_path), values=missing)
    by_id = every.set_index("id")
    for pair in config.get("pairs", []):
        where = f"pair {pair['key']!r}"
        _figure(by_id, pair["consumers"], "consumers", where, config_path)
        _figure(by_id, pair["marketers"], "marketers", where, config_path)
    for fid in config.get("n_alternatives", {}):
        _figure(by_id, fid, None, f"n_alternatives {fid!r}", config_path)
    for spec in config.get("same_sample", []):
        where = f"same_sample {spec['key']!r}"
        a = _figure(by_id, spec["first"], None, where, config_path)
        b = _figure(by_id, spec["second"], None, where, config_path)
        if a["side"] != b["side"] or a["study"] != b["study"]:
            raise ConfigError(f"{where}: the two figures are not from the same respondents",
                              file=str(config_path), values=[spec["first"], spec["second"]])


def _figure(by_id: pd.DataFrame, fid: str, side: str | None, where: str, config_path: Path):
    if fid not in by_id.index:
        raise ConfigError(f"{where} names a figure that is not in the data file",
                          file=str(config_path), values=[fid])
    row = by_id.loc[fid]
    if not row["confirmed"]:
        raise ConfigError(f"{where} names an unconfirmed (status U) figure; it cannot enter a "
                          "comparison", file=str(config_path), values=[fid])
    if side is not None and row["side"] != side:
        raise ConfigError(f"{where}: the figure is from the {row['side']} side",
                          file=str(config_path), values=[fid], expected=f"a {side} figure")
    return row


def shares_table(figures: pd.DataFrame, level: float) -> pd.DataFrame:
    out = figures[["id", "study", "side", "population", "question", "item", "value",
                   "proportion", "n", "n_basis", "status", "note"]].copy()
    known = out["n"].notna().to_numpy()
    for col in ("ci_lower", "ci_upper", "exact_ci_lower", "exact_ci_upper"):
        out[col] = np.nan
    if known.any():
        p = out.loc[known, "proportion"].to_numpy(float)
        n = out.loc[known, "n"].to_numpy(float)
        wilson = proportion_ci(p, n, level=level)
        exact = proportion_ci(p, n, level=level, method="exact")
        out.loc[known, "ci_lower"] = wilson["ci_lower"].to_numpy()
        out.loc[known, "ci_upper"] = wilson["ci_upper"].to_numpy()
        out.loc[known, "exact_ci_lower"] = exact["ci_lower"].to_numpy()
        out.loc[known, "exact_ci_upper"] = exact["ci_upper"].to_numpy()
    out["interval"] = np.where(known, f"wilson {level:.0%}", NO_N)
    return out


def gaps_table(pairs: list[dict], by_id: pd.DataFrame, level: float,
               config_path: Path) -> pd.DataFrame:
    rows = []
    for pair in pairs:
        where = f"pair {pair['key']!r}"
        c = _figure(by_id, pair["consumers"], "consumers", where, config_path)
        m = _figure(by_id, pair["marketers"], "marketers", where, config_path)
        row = {
            "key": pair["key"], "label": pair["label"], "study": c["study"],
            "comparability": pair["comparability"], "why": pair.get("why", ""),
            "consumers_id": pair["consumers"], "marketers_id": pair["marketers"],
            "consumers_item": c["item"], "marketers_item": m["item"],
            "consumers_share": c["proportion"], "marketers_share": m["proportion"],
            "consumers_n": c["n"], "marketers_n": m["n"],
            "consumers_status": c["status"], "marketers_status": m["status"],
            "difference": c["proportion"] - m["proportion"],
        }
        has_interval = not (pd.isna(c["n"]) or pd.isna(m["n"]))
        stats_cols = ["ci_lower", "ci_upper", "wald_ci_lower", "wald_ci_upper", "z", "pvalue"]
        side_cols = ["consumers_ci_lower", "consumers_ci_upper", "marketers_ci_lower",
                     "marketers_ci_upper"]
        row.update(dict.fromkeys(stats_cols + side_cols, np.nan))
        row["cohens_h"] = 2 * np.arcsin(np.sqrt(c["proportion"])) - \
            2 * np.arcsin(np.sqrt(m["proportion"]))
        if has_interval:
            d = diff_proportions(c["proportion"], int(c["n"]), m["proportion"], int(m["n"]),
                                 level=level).iloc[0]
            row.update({k: float(d[k]) for k in stats_cols})
            side = proportion_ci([c["proportion"], m["proportion"]], [int(c["n"]), int(m["n"])],
                                 level=level)
            row.update({"consumers_ci_lower": side.ci_lower[0], "consumers_ci_upper":
                        side.ci_upper[0], "marketers_ci_lower": side.ci_lower[1],
                        "marketers_ci_upper": side.ci_upper[1]})
        # sample-size-free: how many respondents per side would make this gap significant
        row["min_n_per_side_significant"] = (
            min_n_significant(c["proportion"], m["proportion"], level=level,
                              design="independent")
            if c["proportion"] != m["proportion"] else np.nan)
        row["has_interval"] = has_interval
        row["interval"] = f"newcombe {level:.0%}" if has_interval else NO_N
        rows.append(row)
    return pd.DataFrame(rows)


def sensitivity_table(gaps: pd.DataFrame, alternatives: dict, level: float) -> pd.DataFrame:
    """Each gap with published n, recomputed at every combination of alternative sizes."""
    rows = []
    for _, row in gaps[gaps["has_interval"]].iterrows():
        n_c = [int(row["consumers_n"]), *alternatives.get(row["consumers_id"], [])]
        n_m = [int(row["marketers_n"]), *alternatives.get(row["marketers_id"], [])]
        for a in n_c:
            for b in n_m:
                d = diff_proportions(row["consumers_share"], a, row["marketers_share"], b,
                                     level=level).iloc[0]
                rows.append({"key": row["key"], "consumers_n": a, "marketers_n": b,
                             "main": a == n_c[0] and b == n_m[0], "difference": d.difference,
                             "ci_lower": d.ci_lower, "ci_upper": d.ci_upper, "z": d.z,
                             "pvalue": d.pvalue})
    return pd.DataFrame(rows, columns=["key", "consumers_n", "marketers_n", "main", "difference",
                                       "ci_lower", "ci_upper", "z", "pvalue"])


def _slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "_" for ch in text.lower())
    return "_".join(part for part in out.split("_") if part)


def _sides(part: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each side's figures indexed by item, in the data file's order."""
    return {side: part[part["side"] == side].set_index("item")
            for side in ("consumers", "marketers")}


def _incomplete_reason(part: pd.DataFrame, n_items: int) -> str | None:
    """Why a study's list cannot be compared as a whole (None when every reason is known)."""
    items = _sides(part)
    common = set(items["consumers"].index) & set(items["marketers"].index)
    if (len(common) == n_items and len(items["consumers"]) == n_items
            and len(items["marketers"]) == n_items):
        return None
    other = part.loc[part["side"] == "marketers", "population"]
    other = other.iloc[0] if len(other) else "marketers"
    return (f"the data file holds {len(items['consumers'])} of the {n_items} reasons for "
            f"consumers and {len(items['marketers'])} of {n_items} for {other} "
            f"({len(common)} on both sides); the full rank orders are not in it, and are "
            "not invented")


REASON_COLUMNS = [
    "study", "key", "item", "consumers_id", "marketers_id", "consumers_share",
    "marketers_share", "consumers_n", "marketers_n", "consumers_rank", "marketers_rank",
    "consumers_ci_lower", "consumers_ci_upper", "marketers_ci_lower", "marketers_ci_upper",
    "difference", "ci_lower", "ci_upper", "wald_ci_lower", "wald_ci_upper", "z", "pvalue",
    "pvalue_holm", "ci_lower_bonferroni", "ci_upper_bonferroni", "cohens_h",
    "consumers_status", "marketers_status", "has_interval", "interval",
]


def reasons_table(spec: dict, figures: pd.DataFrame, level: float,
                  config_path: Path) -> tuple[pd.DataFrame, dict]:
    """Consumers minus marketers for every reason of a complete list, one family per study.

    Returns the item table (consumers' order, most chosen first; ties keep the data file's
    order) and, per study, why it was left out when its list is incomplete.
    """
    frames, skipped = [], {}
    for study_name, opts in spec.items():
        if opts.get("adjust", "holm") != "holm":
            raise ConfigError(f"reasons {study_name!r}: unknown adjustment",
                              file=str(config_path), values=[opts.get("adjust")],
                              expected="adjust = \"holm\"")
        part = figures[figures["study"] == study_name]
        why_not = _incomplete_reason(part, int(opts["n_items"]))
        if why_not is not None:
            skipped[study_name] = why_not
            continue
        sides = _sides(part)
        cons = sides["consumers"].iloc[np.argsort(-sides["consumers"]["proportion"].to_numpy(),
                                                  kind="stable")]
        mark = sides["marketers"].loc[cons.index]
        items = list(cons.index)
        table = pd.DataFrame({
            "study": study_name, "key": [_slug(i) for i in items], "item": items,
            "consumers_id": cons["id"].to_numpy(), "marketers_id": mark["id"].to_numpy(),
            "consumers_share": cons["proportion"].to_numpy(float),
            "marketers_share": mark["proportion"].to_numpy(float),
            "consumers_n": cons["n"].to_numpy(), "marketers_n": mark["n"].to_numpy(),
            # rank 1 = the most often chosen reason on that side; ties share their average rank
            "consumers_rank": cons["proportion"].rank(ascending=False).to_numpy(),
            "marketers_rank": mark["proportion"].rank(ascending=False).to_numpy(),
            "consumers_status": cons["status"].to_numpy(),
            "marketers_status": mark["status"].to_numpy(),
        })
        table["difference"] = table["consumers_share"] - table["marketers_share"]
        table["cohens_h"] = (2 * np.arcsin(np.sqrt(table["consumers_share"]))
                             - 2 * np.arcsin(np.sqrt(table["marketers_share"])))
        known = bool(table["consumers_n"].notna().all() and table["marketers_n"].notna().all())
        table["has_interval"] = known
        if known:
            d = diff_proportions(table["consumers_share"], table["consumers_n"].astype(float),
                                 table["marketers_share"], table["marketers_n"].astype(float),
                                 level=level, labels=items, correction="holm")
            for col in ("ci_lower", "ci_upper", "wald_ci_lower", "wald_ci_upper", "z", "pvalue",
                        "pvalue_holm", "ci_lower_bonferroni", "ci_upper_bonferroni"):
                table[col] = d[col].to_numpy()
            for side in ("consumers", "marketers"):
                ci = proportion_ci(table[f"{side}_share"], table[f"{side}_n"].astype(float),
                                   level=level)
                table[f"{side}_ci_lower"] = ci["ci_lower"].to_numpy()
                table[f"{side}_ci_upper"] = ci["ci_upper"].to_numpy()
            table["interval"] = (f"newcombe {level:.0%}; holm over {len(items)} reasons; "
                                 "bonferroni simultaneous")
        else:
            table["interval"] = NO_N
        frames.append(table.reindex(columns=REASON_COLUMNS))
    table = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=REASON_COLUMNS))
    return table, skipped


def rank_orders_table(spec: dict, figures: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau per study when every reason is ranked on both sides; else why not."""
    rows = []
    for study_name, opts in spec.items():
        part = figures[figures["study"] == study_name]
        items = {side: v["proportion"] for side, v in _sides(part).items()}
        n_items = int(opts["n_items"])
        common = sorted(set(items["consumers"].index) & set(items["marketers"].index))
        row = {"study": study_name, "reasons_in_list": n_items,
               "reasons_known_consumers": len(items["consumers"]),
               "reasons_known_marketers": len(items["marketers"]),
               "reasons_known_both": len(common), "computed": False,
               "tau": np.nan, "pvalue": np.nan, "concordant": np.nan, "discordant": np.nan,
               "ties_consumers": np.nan, "ties_marketers": np.nan, "method": ""}
        why_not = _incomplete_reason(part, n_items)
        if why_not is None:
            # rank 1 = the most often chosen reason; ties share their average rank
            ranks = {s: v.rank(ascending=False, method="average") for s, v in items.items()}
            res = rank_agreement(ranks["consumers"], ranks["marketers"]).iloc[0]
            statuses = "/".join(sorted(set(part["status"])))
            row.update({"computed": True, "tau": res.tau, "pvalue": res.pvalue,
                        "concordant": res.concordant, "discordant": res.discordant,
                        "ties_consumers": res.ties_1, "ties_marketers": res.ties_2,
                        "method": ("kendall tau-b; two-sided p from the normal approximation "
                                   "with the tie-corrected variance" if res.ties_1 or res.ties_2
                                   else "kendall tau-b; two-sided p")})
            row["reason"] = (f"all {n_items} reasons are in the data file for both sides "
                             f"(status {statuses}), so the two rank orders are compared")
        else:
            row["reason"] = why_not
        rows.append(row)
    return pd.DataFrame(rows)


def dumbbell_rows(reasons: pd.DataFrame, gaps: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """The figure's rows: each full list's reasons first, then the pairs not already shown."""
    shown = reasons.copy()
    labels = {name: opts.get("label", name) for name, opts in spec.items()}
    shown["label"] = [f"{labels.get(s, s)}: {i}" for s, i in zip(shown["study"], shown["item"])]
    shown["comparability"] = "same item"
    seen = set(zip(shown["consumers_id"], shown["marketers_id"]))
    rest = gaps[[(c, m) not in seen for c, m in zip(gaps["consumers_id"], gaps["marketers_id"])]]
    return pd.concat([shown, rest], ignore_index=True)


def figure_note(reasons: pd.DataFrame, ranks: pd.DataFrame, spec: dict) -> str | None:
    """One line per full list: where its figures come from and how its rank orders agree."""
    lines = []
    for study_name, part in reasons.groupby("study", sort=False):
        label = spec.get(study_name, {}).get("label", study_name)
        statuses = sorted(set(part["consumers_status"]) | set(part["marketers_status"]))
        text = (f"{label}: all {len(part)} reasons, status {'/'.join(statuses)} "
                "(S = read in a secondary write-up)")
        rank = ranks[(ranks["study"] == study_name) & ranks["computed"].astype(bool)]
        if len(rank):
            r = rank.iloc[0]
            text += f"; Kendall's tau-b of the two rank orders {r['tau']:.2f} (p = {r['pvalue']:.2f})"
        lines.append(text + ".")
    return "\n".join(lines) or None


def _record_shares(study: Study, shares: pd.DataFrame) -> None:
    """Every share with its status; its n and Wilson interval where n was published, else why
    there is no interval."""
    key = "perception_gap.shares"
    study.number_table(key, shares, key="id", columns={"proportion": "share", "status": "status"},
                       flags_column=None)
    known = shares["n"].notna()
    study.number_table(key, shares[known].astype({"n": int}), key="id",
                       columns=["n", "ci_lower", "ci_upper"], flags_column=None)
    study.number_table(key, shares[~known].assign(interval=NO_N), key="id", columns=["interval"],
                       flags_column=None)


def _record_config_figures(study: Study, figures: pd.DataFrame) -> None:
    """How many figures the config added, and each one's source (name; address)."""
    study.number("perception_gap.figures_from_config", len(figures))
    if len(figures):
        study.number_table("perception_gap.shares", figures, key="id",
                           columns={"source": "source"}, flags_column=None)


def _record_gaps(study: Study, gaps: pd.DataFrame, sensitivity: pd.DataFrame) -> None:
    """Each consumer-marketer gap; its interval and test where both n are known; the smallest n
    per side at which it would be significant; its range over the alternative sample sizes."""
    key = "perception_gap.gaps"
    study.number_table(key, gaps, key="key", columns=["difference", "comparability", "interval"],
                       flags_column=None)
    some_n = gaps[gaps["min_n_per_side_significant"].notna()]
    study.number_table(key, some_n.astype({"min_n_per_side_significant": int}), key="key",
                       columns=["min_n_per_side_significant"], flags_column=None)
    both = gaps[gaps["has_interval"].astype(bool)].astype({"consumers_n": int, "marketers_n": int})
    study.number_table(key, both, key="key", columns={
        "consumers_n": "n_consumers", "marketers_n": "n_marketers",
        **{c: c for c in ("ci_lower", "ci_upper", "wald_ci_lower", "wald_ci_upper", "z",
                          "pvalue", "cohens_h")}}, flags_column=None)
    ranges = sensitivity.groupby("key", sort=False).agg(
        ci_lower_min=("ci_lower", "min"), ci_upper_max=("ci_upper", "max"),
        pvalue_max=("pvalue", "max")).reset_index()
    study.number_table(key, ranges, key="key", columns={
        c: f"sensitivity.{c}" for c in ("ci_lower_min", "ci_upper_max", "pvalue_max")},
        flags_column=None)


def _same_sample(config: dict, by_id: pd.DataFrame, config_path: Path) -> pd.DataFrame:
    """Differences between two answers of the same respondents (no interval: see the config)."""
    rows = []
    for spec in config.get("same_sample", []):
        where = f"same_sample {spec['key']!r}"
        a = _figure(by_id, spec["first"], None, where, config_path)
        b = _figure(by_id, spec["second"], None, where, config_path)
        if a["side"] != b["side"] or a["study"] != b["study"]:
            raise ConfigError(f"{where}: the two figures are not from the same respondents",
                              file=str(config_path), values=[spec["first"], spec["second"]])
        rows.append({"key": spec["key"], "label": spec["label"], "study": a["study"],
                     "side": a["side"], "first_id": spec["first"],
                     "second_id": spec["second"], "first_share": a["proportion"],
                     "second_share": b["proportion"],
                     "difference": a["proportion"] - b["proportion"],
                     "interval": "none: two answers of the same respondents with unknown "
                                 "correlation" + ("" if pd.notna(a["n"]) else
                                                  " and unpublished n")})
    return pd.DataFrame(rows, columns=["key", "label", "study", "side", "first_id", "second_id",
                                       "first_share", "second_share", "difference", "interval"])


def _record_reasons(study: Study, reasons: pd.DataFrame, skipped: dict, level: float) -> None:
    """Per full list: how many reasons, the Holm verdicts, the largest gap and each side's top
    reason; per reason: both shares and ranks, the gap and (with n) its interval and tests."""
    for study_name, why_not in skipped.items():
        study.number(f"perception_gap.reasons.{study_name}.computed", False)
        study.number(f"perception_gap.reasons.{study_name}.reason", why_not)
    for study_name, part in reasons.groupby("study", sort=False):
        key = f"perception_gap.reasons.{study_name}"
        study.number(f"{key}.computed", True)
        study.number(f"{key}.n_items", len(part))
        if bool(part["has_interval"].all()):
            alpha = 1.0 - level
            study.number(f"{key}.significant_holm", int((part["pvalue_holm"] <= alpha).sum()))
            study.number(f"{key}.pvalue_holm_max", float(part["pvalue_holm"].max()))
        largest = part.iloc[int(np.argmax(np.abs(part["difference"].to_numpy())))]
        study.number(f"{key}.largest_gap_item", largest["item"])
        study.number(f"{key}.largest_gap", float(largest["difference"]))
        study.number(f"{key}.consumers_top_item", part.iloc[0]["item"])
        top_m = part.iloc[int(np.argmax(part["marketers_share"].to_numpy()))]
        study.number(f"{key}.marketers_top_item", top_m["item"])
        shares = ["consumers_share", "marketers_share", "difference", "consumers_rank",
                  "marketers_rank"]
        study.number_table(f"{key}.items", part.astype({c: float for c in shares}), key="key",
                           columns=shares, flags_column=None)
        tested = part[part["has_interval"].astype(bool)].astype(
            {"consumers_n": int, "marketers_n": int,
             **{c: float for c in ("ci_lower", "ci_upper", "z", "pvalue", "pvalue_holm",
                                   "ci_lower_bonferroni", "ci_upper_bonferroni")}})
        study.number_table(f"{key}.items", tested, key="key", columns={
            "consumers_n": "n_consumers", "marketers_n": "n_marketers",
            **{c: c for c in ("ci_lower", "ci_upper", "z", "pvalue", "pvalue_holm",
                              "ci_lower_bonferroni", "ci_upper_bonferroni")}},
            flags_column=None)


def _record_ranks(study: Study, ranks: pd.DataFrame) -> None:
    """Whether each list's rank orders were compared (and why, or why not), and Kendall's tau."""
    key = "perception_gap.rank_orders"
    study.number_table(key, ranks.astype({"computed": bool, "reasons_known_both": int}),
                       key="study", columns=["computed", "reasons_known_both", "reason"],
                       flags_column=None)
    computed = ranks[ranks["computed"].astype(bool)].astype({"concordant": int,
                                                             "discordant": int})
    study.number_table(key, computed, key="study", columns={
        "tau": "kendall_tau", "pvalue": "pvalue", "concordant": "concordant",
        "discordant": "discordant", "method": "method"}, flags_column=None)


def run(out: Path, config_path: Path = DEFAULT_CONFIG, data_path: Path | None = None,
        argv: list[str] | None = None, verbose: bool = True) -> dict:
    config = read_config(config_path)
    cfg = config["study"]
    level = float(cfg["level"])
    data_file = Path(data_path) if data_path is not None else published_figures_path()
    # everything is read and checked before the results folder is touched
    check_results_folder(out, cfg["name"], [config_path, data_file])
    from_file = read_figures(data_file)
    every = with_config_figures(from_file, config, config_path)
    precheck(config, every, config_path)
    study = Study(cfg["name"], out, seed=None, config=config, config_path=config_path,
                  argv=argv, verbose=verbose, steps_total=6, inputs=[data_file])

    with study.step("published shares"):
        study.record_data(data_file, {"file": data_file.name, "rows": len(from_file)})
        chosen = every[every["study"].isin(cfg["studies"])]
        figures = chosen[chosen["confirmed"]].reset_index(drop=True)
        by_id = every.set_index("id")
        shares = shares_table(figures, level)
        study.table("shares", shares)
        study.number("perception_gap.level", level)
        study.number("perception_gap.figures_confirmed", len(figures))
        study.number("perception_gap.figures_unconfirmed_left_out", int((~chosen.confirmed).sum()))
        _record_shares(study, shares)
        _record_config_figures(study, every[every["origin"] == "config"])

    with study.step("consumer vs marketer gaps"):
        gaps = gaps_table(config.get("pairs", []), by_id, level, config_path)
        study.table("gaps", gaps)
        alternatives = config.get("n_alternatives", {})
        for fid, values in alternatives.items():
            _figure(by_id, fid, None, f"n_alternatives {fid!r}", config_path)
            if not all(isinstance(v, int) and v >= 1 for v in values):
                raise ConfigError("alternative sample sizes must be whole numbers >= 1",
                                  file=str(config_path), values=list(values))
        sensitivity = sensitivity_table(gaps, alternatives, level)
        study.table("gaps_sensitivity", sensitivity)
        _record_gaps(study, gaps, sensitivity)

    with study.step("same-sample differences"):
        same = _same_sample(config, by_id, config_path)
        study.number_table("perception_gap.same_sample", same, key="key",
                           columns=["difference"], flags_column=None)
        study.table("same_sample", same)

    with study.step("every reason, item by item"):
        reasons, skipped = reasons_table(config.get("reasons", {}), figures, level, config_path)
        study.table("reason_gaps", reasons)
        _record_reasons(study, reasons, skipped, level)

    with study.step("rank orders"):
        ranks = rank_orders_table(config.get("rank_orders", {}), figures)
        study.table("rank_orders", ranks)
        _record_ranks(study, ranks)

    with study.step("figures"):
        from connection.plots.context import gap_dumbbell

        shown = dumbbell_rows(reasons, gaps, config.get("reasons", {}))
        if len(shown):
            study.figure("perception_gap_dumbbell",
                         gap_dumbbell(shown, level=level, note=figure_note(reasons, ranks,
                                      config.get("reasons", {}))))

    return study.finish()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = study_parser("perception_gap.py", __doc__.splitlines()[0], config=DEFAULT_CONFIG,
                          out="results/perception_gap",
                          data="published-figures file (default: the package's own)")
    args = parse_study_args(parser, argv)
    run(args.out or Path("results") / "perception_gap", args.config, args.data,
        argv=["studies/perception_gap.py", *argv], verbose=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main, prog="perception_gap.py"))
