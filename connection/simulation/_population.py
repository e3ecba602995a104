"""A population model with known truth, calibrated to published percentages.

Respondents belong to cells (group x category: social-media moms / other moms x banking /
eReaders). In each cell five exogenous latent variables — connection (the motivator items),
satisfaction, features, quality and attachment (the emotional-attachment adjectives) — are
multivariate normal with cell-specific means and correlations (variances 1 within
a cell). Three outcome latents (advocacy, loyalty, repurchase) are linear in connection and
satisfaction with standardized coefficients, and a spend column is log-normal in both. Every item
of the instrument has a latent response ``y* = loading * latent + error`` (variance 1 in every cell)
that is cut by fixed thresholds into the item's scale points, so the measurement model is
invariant across cells unless the config says otherwise (``threshold_shifts``).

Calibration. Because ``y*`` has variance 1 in a cell, the population share at or above a scale
point is ``1 - Phi(tau - loading * mean)``, where ``tau`` is the threshold below that point. With
the reference cell's latent mean fixed at 0, the published percentages of both groups give, per
item, ``tau = -z_other`` and ``loading * gap = z_social - z_other`` (``z = Phi^-1(share)``). One
named assumption — the average loading of the calibrated connection items — fixes the connection
gap; the satisfaction item's loading fixes the satisfaction gap. The population then reproduces
every published percentage exactly; a sample reproduces it up to sampling error.

What counts as agreeing is set in the ``[calibration]`` table: ``agree_min = 4`` makes "percent
agreeing" the top-2-box (4 or 5) of a 1-5 agreement item; ``satisfied_min = 8`` makes
"satisfied" 8, 9 or 10 on the 1-10 overall-satisfaction item (our definition: the press release
does not give its scale). Uncalibrated thresholds are spread evenly over ``thresholds.span``
(latent-response SD units) and moved with the calibrated items of their construct.

Planning and recovery helpers live here too: :func:`slope_power`,
:func:`slope_difference_power`, :func:`scalar_ncp` and :func:`chisq_power` give power from the
population's moments (``studies/power_social_moms.py``), and :func:`recover` fits the structural
model per cell and sets the estimates beside the truth (``benchmarks/bench_study.py``).

Examples
--------
>>> from connection.simulation import Population
>>> items = {"connection": [{"id": f"c{i}", "min": 1, "max": 5} for i in range(1, 4)],
...          "satisfaction": [{"id": "s1", "min": 1, "max": 10}]}
>>> config = {"groups": ["a", "b"], "categories": ["x"],
...           "means": {"x": {"a": {"connection": "calibrated", "satisfaction": "calibrated"},
...                           "b": {"connection": 0.0, "satisfaction": 0.0}}},
...           "correlations": {"connection": {"satisfaction": 0.1}}}
>>> calibration = {"agree_min": 4, "satisfied_min": 8, "mean_loading": 0.7,
...                "satisfaction_loading": 0.85,
...                "targets": {"x": {"a": {"c1": 40, "c2": 30, "s1": 54},
...                                  "b": {"c1": 20, "c2": 12, "s1": 53}}}}
>>> pop = Population.from_config(config, items=items, calibration=calibration)
>>> pop.calibration_table()[["group", "item", "published", "population"]].round(6)
  group item  published  population
0     a   c1       40.0        40.0
1     a   c2       30.0        30.0
2     a   s1       54.0        54.0
3     b   c1       20.0        20.0
4     b   c2       12.0        12.0
5     b   s1       53.0        53.0
>>> sim = pop.simulate(n=2000, seed=1)
>>> sim.data.shape
(2000, 8)
>>> sorted(sim.data["group"].unique())
['a', 'b']
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from connection._common import as_seed_sequence, check_choice, check_level, z_critical
from connection.errors import ConfigError, NonNumericError
from connection.simulation._config import EXOGENOUS, OUTCOMES, PopulationConfig

__all__ = [
    "EXOGENOUS",
    "OUTCOMES",
    "Population",
    "Simulation",
    "load_config",
    "simulate",
    "percent_at_or_above",
    "composite_scores",
    "ols_moments",
    "slope_power",
    "slope_difference_power",
    "item_means",
    "scalar_ncp",
    "chisq_power",
    "true_structural_std_lv",
    "recovery_model",
    "recover",
]

_DEFAULT_LOADING = {"connection": 0.70, "satisfaction": 0.85, "features": 0.80, "quality": 0.80,
                    "attachment": 0.75, "advocacy": 0.80, "loyalty": 0.75, "repurchase": 0.85}
_MAX_LOADING = 0.98


def _ndtri(p):
    return special.ndtri(np.asarray(p, dtype=float))


def _ndtr(x):
    return special.ndtr(np.asarray(x, dtype=float))


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read a study/population TOML file into a dict (errors name the file)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("config file not found", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file is not valid TOML: {exc}", file=str(path)) from None


# --------------------------------------------------------------------------------------------
# items: from an Instrument or a plain mapping {construct: [{"id", "min", "max", "reverse"}]}
# --------------------------------------------------------------------------------------------

def _item_table(instrument: Any = None, items: Mapping | None = None) -> pd.DataFrame:
    rows = []
    if items is not None:
        if not isinstance(items, Mapping):
            raise ConfigError("items must be a table: construct -> list of items",
                              column="population.items", values=[type(items).__name__])
        for construct, entries in items.items():
            if isinstance(entries, str | Mapping) or not isinstance(entries, Sequence):
                raise ConfigError("a construct's items must be a list of tables",
                                  column=f"population.items.{construct}")
            rows += [_item_entry(construct, i, entry) for i, entry in enumerate(entries)]
    elif instrument is not None:
        constructs = instrument.constructs
        for name in constructs:
            construct = constructs[name]
            for item in construct.items:
                scale = getattr(item, "scale", None)
                lo = getattr(scale, "min", getattr(item, "min", None))
                hi = getattr(scale, "max", getattr(item, "max", None))
                rows.append({"item": str(item.id), "construct": str(name), "min": int(lo),
                             "max": int(hi), "reverse": bool(getattr(item, "reverse", False))})
    else:
        raise ConfigError("the population needs items: pass an Instrument or an items mapping")
    table = pd.DataFrame(rows, columns=["item", "construct", "min", "max", "reverse"])
    if table.empty:
        raise ConfigError("the instrument has no items")
    dup = table["item"][table["item"].duplicated()].tolist()
    if dup:
        raise ConfigError("item ids repeat", values=dup, expected="unique item ids")
    bad = table[table["max"] <= table["min"]]
    if len(bad):
        raise ConfigError("an item scale has max <= min", column=bad["item"].iloc[0],
                          values=[f"{bad['min'].iloc[0]}..{bad['max'].iloc[0]}"])
    return table


def _item_entry(construct: str, index: int, entry: Any) -> dict[str, Any]:
    """One ``{"id", "min", "max", "reverse"}`` entry of an items mapping, checked."""
    where = f"population.items.{construct}[{index + 1}]"
    if not isinstance(entry, Mapping) or not {"id", "min", "max"} <= set(entry):
        raise ConfigError("an item needs an id, a min and a max", column=where,
                          expected='e.g. {id = "c1", min = 1, max = 5}')
    for key in ("min", "max"):
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ConfigError(f"an item's {key} must be a whole number", column=where,
                              values=[value])
    if not isinstance(entry.get("reverse", False), bool):
        raise ConfigError("an item's reverse must be true or false", column=where,
                          values=[entry["reverse"]])
    return {"item": str(entry["id"]), "construct": str(construct), "min": int(entry["min"]),
            "max": int(entry["max"]), "reverse": bool(entry.get("reverse", False))}


def _default_instrument():
    try:
        from connection import instruments
    except ImportError as exc:  # pragma: no cover - the data layer ships with the package
        raise ConfigError("no instrument given and connection.instruments is unavailable") from exc
    return instruments.default()


# --------------------------------------------------------------------------------------------
# the population
# --------------------------------------------------------------------------------------------

def percent_at_or_above(values, cut: float) -> float:
    """Percent of non-missing ``values`` at or above ``cut`` (a top-box share).

    >>> percent_at_or_above([1, 4, 5, 3, None], 4)
    50.0
    """
    raw = pd.Series(values)
    conv = pd.to_numeric(raw, errors="coerce")
    bad = conv.isna() & raw.notna()
    if bad.any():
        raise NonNumericError("values are not numbers", rows=(np.flatnonzero(bad.to_numpy()) + 1).tolist(),
                              values=raw[bad].tolist(), expected="numeric answers (NaN/None for missing)")
    arr = conv.to_numpy(dtype=float)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return float("nan")
    return float(100.0 * np.mean(arr >= cut))


def _thresholds(k_points: int, span: Sequence[float]) -> np.ndarray:
    lo, hi = float(span[0]), float(span[1])
    if k_points == 2:
        return np.array([(lo + hi) / 2.0])
    return np.linspace(lo, hi, k_points - 1)


def _corr_matrix(spec: Mapping[str, Mapping[str, float]], where: str) -> np.ndarray:
    """The exogenous correlation matrix from latent -> latent -> r (names checked when the
    config was parsed); ConfigError when it is not positive definite."""
    corr = np.eye(len(EXOGENOUS))
    for a, inner in spec.items():
        for b, value in inner.items():
            i, j = EXOGENOUS.index(a), EXOGENOUS.index(b)
            corr[i, j] = corr[j, i] = float(value)
    eig = np.linalg.eigvalsh(corr)
    if eig.min() <= 1e-8:
        raise ConfigError("latent correlation matrix is not positive definite", column=where,
                          values=[f"min eigenvalue {eig.min():.4g}"],
                          hint="lower the correlations or make them consistent")
    return corr


@dataclass(frozen=True)
class Simulation:
    """A simulated survey with the population that produced it.

    Attributes
    ----------
    data : DataFrame
        The raw responses as a researcher's file would hold them (reverse-coded items *not*
        yet reversed), with id, group, category and spend columns.
    latent : DataFrame
        The true latent scores of every respondent (same row order as ``data``).
    population : Population
        The population (true parameters: ``population.truth()``).
    seed : Any
        The seed the sample was drawn with.
    """

    data: pd.DataFrame
    latent: pd.DataFrame
    population: Population
    seed: Any = None

    @property
    def truth(self) -> dict[str, pd.DataFrame]:
        """The true parameters (tidy tables), as :meth:`Population.truth`."""
        return self.population.truth()

    def survey(self, instrument: Any = None):
        """The data as a validated :class:`connection.Survey` (through ``read_survey``)."""
        from connection.data._survey import read_survey

        instrument = instrument or self.population.instrument or _default_instrument()
        pop = self.population
        return read_survey(self.data, instrument=instrument, id_column=pop.id_column)

    def calibration_table(self) -> pd.DataFrame:
        """Published, population and sample percentages side by side."""
        return self.population.calibration_table(self.data)


@dataclass(frozen=True)
class Population:
    """The population model: cells, latent means and correlations, items, outcomes, spend.

    Build it with :meth:`from_config` (a mapping, e.g. the ``[population]`` table of a study
    TOML) and, optionally, a ``calibration`` mapping with published targets; the calibrated
    parameters are solved at construction. All fields are plain arrays/tables of true values.
    """

    groups: tuple[str, ...]
    categories: tuple[str, ...]
    items: pd.DataFrame                      # item construct latent min max reverse loading thresholds
    means: dict[tuple[str, str], np.ndarray]  # (category, group) -> exogenous latent means
    corr: dict[tuple[str, str], np.ndarray]   # (category, group) -> exogenous correlation matrix
    outcome_coef: dict[tuple[str, str], np.ndarray]  # cell -> (n_outcomes, 2) slopes on (conn, sat)
    shares: dict[tuple[str, str], float]
    spend: dict[str, Any]
    calibration: dict[str, Any] = field(default_factory=dict)
    shifts: dict[tuple[str, str, str], float] = field(default_factory=dict)
    instrument: Any = None
    group_column: str = "group"
    category_column: str = "category"
    id_column: str = "respondent_id"
    spend_column: str = "spend"

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_config(cls, config: Mapping, *, instrument: Any = None, items: Mapping | None = None,
                    calibration: Mapping | None = None, overrides: Mapping | None = None
                    ) -> Population:
        """Build (and calibrate) the population from a config mapping.

        Parameters
        ----------
        config
            The ``[population]`` table: ``groups``, ``categories``, ``means``, ``correlations``,
            optional ``correlations_by_cell``, ``constructs``, ``loadings``, ``thresholds``,
            ``outcomes``, ``spend``, ``cell_shares``, ``threshold_shifts`` and column names.
        instrument, items
            Where the items come from (an :class:`~connection.Instrument`, or a mapping
            ``{construct: [{"id", "min", "max", "reverse"}]}``); default: the package's default
            instrument.
        calibration
            The ``[calibration]`` table: ``targets`` (category -> group -> item -> percent),
            ``agree_min``, ``satisfied_min``, ``mean_loading``, ``satisfaction_loading``.
        overrides
            Optional replacements merged over ``config`` (e.g. ``{"correlations":
            {"connection": {"satisfaction": 0.4}}}`` for a sensitivity run).
        """
        cfg = PopulationConfig.parse(config, calibration=calibration, overrides=overrides)
        if items is None and instrument is None:
            instrument = _default_instrument()
        table = _build_items(cfg, instrument, items)
        loading = _build_loadings(cfg, table)
        raw_means = {cell: dict(values) for cell, values in cfg.means.items()}
        solved = _build_calibration(cfg, table, raw_means)
        loading.update(solved.get("loadings", {}))
        _check_loadings(loading)
        corr = _build_correlations(cfg)
        table["loading"] = [float(loading[i]) for i in table["item"]]
        table["thresholds"] = _build_thresholds(cfg, table, solved.get("cuts", {}))
        cal = cfg.calibration
        calibration_info = {"agree_min": cal.agree_min, "satisfied_min": cal.satisfied_min,
                            "targets": cal.targets,
                            **{k: v for k, v in solved.items()
                               if k in ("connection_gap", "satisfaction_gap")},
                            "mean_loading": cal.mean_loading,
                            "satisfaction_loading": cal.satisfaction_loading,
                            "source": cal.source}
        return cls(groups=cfg.groups, categories=cfg.categories, items=table,
                   means=_build_means(cfg, raw_means), corr=corr,
                   outcome_coef=_build_outcomes(cfg, corr), shares=_build_shares(cfg),
                   spend=cfg.spend.as_dict(), calibration=calibration_info,
                   shifts=_build_shifts(cfg, table), instrument=instrument,
                   group_column=cfg.group_column, category_column=cfg.category_column,
                   id_column=cfg.id_column, spend_column=cfg.spend_column)

    @classmethod
    def from_toml(cls, path: str | os.PathLike, *, instrument: Any = None,
                  overrides: Mapping | None = None) -> Population:
        """Build the population from the ``[population]`` and ``[calibration]`` tables of a TOML."""
        cfg = load_config(path)
        if "population" not in cfg:
            raise ConfigError("no [population] table", file=str(path))
        return cls.from_config(cfg["population"], instrument=instrument,
                               items=cfg["population"].get("items"),
                               calibration=cfg.get("calibration"), overrides=overrides)

    # ---------------------------------------------------------------- truth
    @property
    def cells(self) -> list[tuple[str, str]]:
        return [(c, g) for c in self.categories for g in self.groups]

    def outcome_means(self, cell: tuple[str, str]) -> np.ndarray:
        return self.outcome_coef[cell] @ self.means[cell][:2]

    def latent_response_means(self, cell: tuple[str, str]) -> pd.Series:
        """Mean of every item's latent response y* in a cell (its variance is 1)."""
        lat = dict(zip(EXOGENOUS, self.means[cell]))
        lat.update(zip(OUTCOMES, self.outcome_means(cell)))
        sign = np.where(self.items["reverse"], -1.0, 1.0)
        vals = self.items["loading"].to_numpy() * sign * self.items["latent"].map(lat).to_numpy()
        return pd.Series(vals, index=self.items["item"].to_numpy())

    def percent(self, item: str, cut: float, cell: tuple[str, str]) -> float:
        """Population percent of responses >= ``cut`` on ``item`` in ``cell`` (closed form)."""
        row = self.items.set_index("item").loc[item]
        index = int(math.ceil(cut - row["min"])) - 1   # threshold just below scale point `cut`
        tau = row["thresholds"]
        if index < 0:
            return 100.0
        if index >= len(tau):
            return 0.0
        mu = self.latent_response_means(cell)[item]
        shift = self.shifts.get((item, *cell), 0.0)
        return float(100.0 * (1.0 - _ndtr(tau[index] + shift - mu)))

    def truth(self) -> dict[str, pd.DataFrame]:
        """The true parameters as tidy tables.

        Keys: ``latent_means`` (category group latent mean), ``latent_correlations`` (category
        group lhs rhs value), ``items`` (item construct latent loading residual_variance
        thresholds), ``structural`` (category group outcome predictor coefficient; standardized
        within the cell), ``cells`` (category group share).
        """
        lm, lc, st, ce = [], [], [], []
        for c, g in self.cells:
            mu = self.means[(c, g)]
            for k, v in zip(EXOGENOUS, mu):
                lm.append((c, g, k, float(v)))
            for k, v in zip(OUTCOMES, self.outcome_means((c, g))):
                lm.append((c, g, k, float(v)))
            r = self.corr[(c, g)]
            for i in range(len(EXOGENOUS)):
                for j in range(i + 1, len(EXOGENOUS)):
                    lc.append((c, g, EXOGENOUS[i], EXOGENOUS[j], float(r[i, j])))
            for o, (bc, bs) in zip(OUTCOMES, self.outcome_coef[(c, g)]):
                st.append((c, g, o, "connection", float(bc)))
                st.append((c, g, o, "satisfaction", float(bs)))
            ce.append((c, g, self.shares[(c, g)]))
        items = self.items[["item", "construct", "latent", "loading", "reverse"]].copy()
        items["residual_variance"] = 1.0 - items["loading"] ** 2
        items["thresholds"] = [" ".join(f"{t:.6f}" for t in tau) for tau in self.items["thresholds"]]
        return {
            "latent_means": pd.DataFrame(lm, columns=["category", "group", "latent", "mean"]),
            "latent_correlations": pd.DataFrame(lc, columns=["category", "group", "lhs", "rhs",
                                                             "value"]),
            "items": items.reset_index(drop=True),
            "structural": pd.DataFrame(st, columns=["category", "group", "outcome", "predictor",
                                                    "coefficient"]),
            "cells": pd.DataFrame(ce, columns=["category", "group", "share"]),
        }

    def cut_of(self, item: str) -> float | None:
        """The published 'agreeing/satisfied' cut for an item (None when it has no target)."""
        row = self.items.set_index("item").loc[item]
        if row["latent"] == "satisfaction":
            return self.calibration.get("satisfied_min", 8)
        if row["max"] - row["min"] + 1 == 5:
            return self.calibration.get("agree_min", 4)
        return None

    def calibration_table(self, data: pd.DataFrame | None = None) -> pd.DataFrame:
        """Published vs population (closed form) vs sample percentages, one row per target.

        Columns: category, group, item, cut, published, population, sample (NaN without data).
        """
        rows = []
        targets = self.calibration.get("targets", {})
        for c in self.categories:
            for g in self.groups:
                for item, published in targets.get(c, {}).get(g, {}).items():
                    cut = self.cut_of(item)
                    sample = float("nan")
                    if data is not None:
                        mask = (data[self.category_column] == c) & (data[self.group_column] == g)
                        sample = percent_at_or_above(data.loc[mask, item], cut)
                    rows.append({"category": c, "group": g, "item": item, "cut": cut,
                                 "published": float(published),
                                 "population": self.percent(item, cut, (c, g)),
                                 "sample": sample})
        return pd.DataFrame(rows, columns=["category", "group", "item", "cut", "published",
                                           "population", "sample"])

    def percent_table(self, cuts: Mapping[str, float] | None = None) -> pd.DataFrame:
        """Population percent at or above each item's cut in every cell (closed form).

        ``cuts`` maps item -> cut; default: the item's calibration cut, or the top 2 points of
        its scale (top 2 of 11 for 0-10 items: 9-10, the promoter range).
        """
        rows = []
        for row in self.items.itertuples():
            cut = (cuts or {}).get(row.item) or self.cut_of(row.item) or (row.max - 1)
            for c, g in self.cells:
                rows.append({"category": c, "group": g, "item": row.item, "cut": cut,
                             "population": self.percent(row.item, cut, (c, g))})
        return pd.DataFrame(rows)

    # ---------------------------------------------------------------- sampling
    def cell_sizes(self, n: int) -> dict[tuple[str, str], int]:
        """Split ``n`` over the cells by their shares (largest remainder; deterministic)."""
        if int(n) != n or n < len(self.cells):
            raise ConfigError("n must be an integer of at least one respondent per cell",
                              values=[n], expected=f">= {len(self.cells)}")
        exact = {k: self.shares[k] * n for k in self.cells}
        sizes = {k: int(math.floor(v)) for k, v in exact.items()}
        rest = int(n) - sum(sizes.values())
        order = sorted(self.cells, key=lambda k: (-(exact[k] - sizes[k]), self.cells.index(k)))
        for k in order[:rest]:
            sizes[k] += 1
        return sizes

    def simulate(self, n: int, *, seed: Any = None) -> Simulation:
        """Draw ``n`` respondents (split over the cells by their shares).

        ``seed`` (keyword-only): an int, a :class:`numpy.random.SeedSequence` or a
        :class:`numpy.random.Generator` (:func:`connection._common.as_seed_sequence`; a
        Generator is consumed); each cell draws from its own stream spawned from it, so a cell's
        respondents do not depend on the other cells' sizes.
        """
        streams = [np.random.default_rng(s)
                   for s in as_seed_sequence(seed).spawn(len(self.cells))]
        sizes = self.cell_sizes(n)
        items = self.items
        latent_index = {k: i for i, k in enumerate(EXOGENOUS + OUTCOMES)}
        item_latent = np.array([latent_index[v] for v in items["latent"]])
        loadings = items["loading"].to_numpy() * np.where(items["reverse"], -1.0, 1.0)
        resid_sd = np.sqrt(1.0 - items["loading"].to_numpy() ** 2)
        frames, latents = [], []
        next_id = 1
        for (c, g), rng in zip(self.cells, streams):
            m = sizes[(c, g)]
            chol = np.linalg.cholesky(self.corr[(c, g)])
            # one draw per respondent row (row-major), so a cell's first respondents do not
            # depend on how many respondents the cell has
            z = rng.standard_normal((m, len(EXOGENOUS) + len(OUTCOMES) + len(items) + 1))
            z_exo, z_out, z_items, z_spend = np.split(
                z, np.cumsum([len(EXOGENOUS), len(OUTCOMES), len(items)]), axis=1)
            exo = self.means[(c, g)] + z_exo @ chol.T
            coef = self.outcome_coef[(c, g)]
            r = self.corr[(c, g)][0, 1]
            explained = (coef[:, 0] ** 2 + coef[:, 1] ** 2 + 2 * coef[:, 0] * coef[:, 1] * r)
            zeta = z_out * np.sqrt(1.0 - explained)
            outc = exo[:, :2] @ coef.T + zeta
            eta = np.hstack([exo, outc])
            ystar = eta[:, item_latent] * loadings + z_items * resid_sd
            values = np.empty((m, len(items)), dtype=np.int64)
            for j, (item, tau, lo) in enumerate(zip(items["item"], items["thresholds"],
                                                    items["min"])):
                tau = tau + self.shifts.get((item, c, g), 0.0)
                values[:, j] = lo + np.searchsorted(tau, ystar[:, j], side="left")
            sp = self.spend
            log_spend = (math.log(float(sp["median"][c])) + float(sp["connection"]) * exo[:, 0]
                         + float(sp["satisfaction"]) * exo[:, 1]
                         + float(sp["sd"]) * z_spend[:, 0])
            frame = pd.DataFrame(values, columns=items["item"].tolist())
            frame.insert(0, self.category_column, c)
            frame.insert(0, self.group_column, g)
            frame.insert(0, self.id_column, np.arange(next_id, next_id + m, dtype=np.int64))
            frame[self.spend_column] = np.round(np.exp(log_spend), 2)
            frames.append(frame)
            lat = pd.DataFrame(eta, columns=list(EXOGENOUS + OUTCOMES))
            lat.insert(0, self.category_column, c)
            lat.insert(0, self.group_column, g)
            latents.append(lat)
            next_id += m
        data = pd.concat(frames, ignore_index=True)
        latent = pd.concat(latents, ignore_index=True)
        return Simulation(data=data, latent=latent, population=self, seed=seed)


# --------------------------------------------------------------------------------------------
# builders: one per section of the parsed config (PopulationConfig), each checking what the
# config alone cannot (the items it names, a positive-definite matrix, an explained variance < 1)
# --------------------------------------------------------------------------------------------

def _build_items(cfg: PopulationConfig, instrument: Any, items: Mapping | None) -> pd.DataFrame:
    """The item table (item construct min max reverse) with the latent each item measures."""
    table = _item_table(instrument, items)
    table["latent"] = [cfg.constructs.get(c, c) for c in table["construct"]]
    latents = EXOGENOUS + OUTCOMES
    unknown = sorted(set(table["latent"]) - set(latents))
    if unknown:
        raise ConfigError("constructs that the population model cannot generate",
                          column="population.constructs", values=unknown,
                          expected=f"a mapping to one of {', '.join(latents)}")
    return table


def _build_loadings(cfg: PopulationConfig, table: pd.DataFrame) -> dict[str, float | str]:
    """Each item's loading: the item's own, else its construct's, else its latent's, else the
    default (calibrated items get theirs from the calibration afterwards)."""
    by_construct, per_item = cfg.loadings.constructs, cfg.loadings.items
    known = set(table["construct"]) | set(EXOGENOUS + OUTCOMES)
    unknown = [k for k in by_construct if k not in known]
    if unknown:
        raise ConfigError("loading for a construct the items do not have",
                          column="population.loadings", values=unknown,
                          expected="a construct of the instrument or a latent variable")
    _check_items(per_item, table, "population.loadings.items", "loading for an unknown item")
    return {row.item: per_item.get(row.item, by_construct.get(
                row.construct, by_construct.get(row.latent, _DEFAULT_LOADING[row.latent])))
            for row in table.itertuples()}


def _check_items(named: Mapping, table: pd.DataFrame, where: str, message: str) -> None:
    unknown = [i for i in named if i not in set(table["item"])]
    if unknown:
        raise ConfigError(message, column=where, values=unknown)


def _build_calibration(cfg: PopulationConfig, table: pd.DataFrame,
                       raw_means: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """Solve the calibration (closed form; see the module docstring) and write the solved latent
    means into ``raw_means``; returns loadings, cuts and gaps ({} without targets)."""
    cal = cfg.calibration
    if not cal.targets:
        return {}
    solved = _calibrate(table, cal.targets, raw_means, cfg.groups, cal.agree_min,
                        cal.satisfied_min,
                        float(cal.mean_loading if cal.mean_loading is not None else 0.70),
                        float(cal.satisfaction_loading if cal.satisfaction_loading is not None
                              else 0.85))
    for cell, latent_values in solved["means"].items():
        raw_means[cell].update(latent_values)
    return solved


def _check_loadings(loading: Mapping[str, float | str]) -> None:
    for item, value in loading.items():
        if isinstance(value, str):
            raise ConfigError("item loading is 'calibrated' but the item has no published "
                              "target", column=item)
        if not 0.0 < abs(float(value)) < _MAX_LOADING:
            raise ConfigError("item loading must lie strictly between 0 and 0.98 in absolute "
                              "value (the latent response has variance 1)", column=item,
                              values=[value])


def _build_means(cfg: PopulationConfig, raw_means: Mapping[tuple[str, str], Mapping[str, Any]]
                 ) -> dict[tuple[str, str], np.ndarray]:
    """Every cell's exogenous latent means: numbers, solved 'calibrated' values, or the value of
    the same group in the category named."""
    means = {}
    for c, g in cfg.cells:
        vec = []
        for k in EXOGENOUS:
            v = raw_means[(c, g)][k]
            if isinstance(v, str):
                if v not in cfg.categories or v == c:  # 'calibrated' without a target
                    raise ConfigError(
                        "latent mean must be a number, 'calibrated' (with a published "
                        "target) or a category name", column=f"population.means.{c}.{g}.{k}",
                        values=[v])
                v = raw_means[(v, g)][k]
                if isinstance(v, str):
                    raise ConfigError("mean refers to a cell that is not numeric",
                                      column=f"population.means.{c}.{g}.{k}")
            vec.append(float(v))
        means[(c, g)] = np.array(vec)
    return means


def _build_correlations(cfg: PopulationConfig) -> dict[tuple[str, str], np.ndarray]:
    """Every cell's correlation matrix: the common one with the cell's own merged over it."""
    out = {}
    for c, g in cfg.cells:
        spec = {a: dict(v) for a, v in cfg.correlations.items()}
        for a, inner in cfg.correlations_by_cell.get((c, g), {}).items():
            spec.setdefault(a, {}).update(inner)
        out[(c, g)] = _corr_matrix(spec, f"population.correlations ({c}, {g})")
    return out


def _build_shifts(cfg: PopulationConfig, table: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    for item, _, _ in cfg.threshold_shifts:
        if item not in set(table["item"]):
            raise ConfigError("threshold shift for an unknown item",
                              column="population.threshold_shifts", values=[item])
    return dict(cfg.threshold_shifts)


def _build_thresholds(cfg: PopulationConfig, table: pd.DataFrame,
                      shift_of_cut: Mapping[str, tuple[int, float]]) -> list[np.ndarray]:
    """Each item's thresholds: its own, or evenly spaced over the span; a calibrated item's cut
    moved to where its published percentage puts it, and (``follow_calibrated``) the other items
    of its latent moved by the calibrated items' average shift, so that e.g. an eReader-only
    motivator item sits at the level of the published ones."""
    own, span = cfg.thresholds.items, cfg.thresholds.span
    _check_items(own, table, "population.thresholds.items", "thresholds for an unknown item")
    thresholds = []
    for row in table.itertuples():
        k = row.max - row.min + 1
        if row.item in own:
            tau = np.asarray(own[row.item], dtype=float)
            if tau.size != k - 1 or np.any(np.diff(tau) <= 0):
                raise ConfigError("item thresholds must be increasing, one fewer than the "
                                  "scale points", column=row.item, values=list(tau))
        else:
            tau = _thresholds(k, span)
        if row.item in shift_of_cut:
            index, value = shift_of_cut[row.item]
            tau = tau + (value - tau[index])
        thresholds.append(tau)
    if not (shift_of_cut and cfg.thresholds.follow_calibrated):
        return thresholds
    moved: dict[str, list[float]] = {}
    for row, tau in zip(table.itertuples(), thresholds):
        if row.item in shift_of_cut:
            base = _thresholds(row.max - row.min + 1, span)
            moved.setdefault(row.latent, []).append(float(tau[0] - base[0]))
    for j, row in enumerate(table.itertuples()):
        if row.item not in shift_of_cut and row.item not in own and row.latent in moved:
            thresholds[j] = thresholds[j] + float(np.mean(moved[row.latent]))
    return thresholds


def _build_outcomes(cfg: PopulationConfig, corr: Mapping[tuple[str, str], np.ndarray]
                    ) -> dict[tuple[str, str], np.ndarray]:
    """Each cell's standardized slopes of the outcomes on (connection, satisfaction)."""
    outcome_coef = {}
    for c, g in cfg.cells:
        rows = []
        for o in OUTCOMES:
            spec = cfg.outcomes[o]
            bc, bs = spec.connection, spec.satisfaction
            if g == cfg.groups[0]:
                bc += spec.group_interaction
            if len(cfg.categories) > 1 and c == cfg.categories[1]:
                bc += spec.category_interaction
            r = corr[(c, g)][0, 1]
            explained = bc * bc + bs * bs + 2 * bc * bs * r
            if explained >= 1.0:
                raise ConfigError("outcome explained variance >= 1 (coefficients too large "
                                  "for standardized latents)", column=f"population.outcomes.{o}",
                                  values=[f"{c}/{g}: R2={explained:.3f}"])
            rows.append([bc, bs])
        outcome_coef[(c, g)] = np.array(rows)
    return outcome_coef


def _build_shares(cfg: PopulationConfig) -> dict[tuple[str, str], float]:
    """Each cell's share of the respondents (equal when the config gives none), summing to 1."""
    cells = cfg.cells
    shares = {cell: cfg.cell_shares.get(cell, 1.0 / len(cells)) if cfg.cell_shares
              else 1.0 / len(cells) for cell in cells}
    total = sum(shares.values())
    if total <= 0 or any(v < 0 for v in shares.values()):
        raise ConfigError("cell shares must be non-negative with a positive sum",
                          column="population.cell_shares")
    return {k: v / total for k, v in shares.items()}


def _calibrate(table, targets, raw_means, groups, agree_min, satisfied_min, mean_loading,
               satisfaction_loading):
    """Closed-form calibration; returns loadings, latent means and threshold positions."""
    info = table.set_index("item")
    loadings: dict[str, float] = {}
    cuts: dict[str, tuple[int, float]] = {}
    solved_means: dict[tuple[str, str], dict[str, float]] = {}
    gaps = {}
    for c, by_group in targets.items():
        if len(groups) != 2:
            raise ConfigError("calibration needs exactly two groups", column="calibration.targets")
        g_hi, g_ref = groups
        hi, ref = by_group.get(g_hi, {}), by_group.get(g_ref, {})
        named = list(dict.fromkeys([*hi, *ref]))
        missing = [i for i in named if i not in info.index]
        if missing:
            raise ConfigError("calibration target for an item the instrument does not have",
                              column=f"calibration.targets.{c}", values=missing)
        items = [i for i in info.index if i in named]
        pairs = {}
        for item in items:
            if item not in hi or item not in ref:
                raise ConfigError("a calibration target needs both groups",
                                  column=f"calibration.targets.{c}", values=[item])
            p_hi, p_ref = float(hi[item]) / 100.0, float(ref[item]) / 100.0
            if not (0.0 < p_hi < 1.0 and 0.0 < p_ref < 1.0):
                raise ConfigError("published percentages must lie strictly between 0 and 100",
                                  column=f"calibration.targets.{c}.{item}",
                                  values=[hi[item], ref[item]])
            pairs[item] = (float(_ndtri(p_hi)), float(_ndtri(p_ref)))
        for latent in ("connection", "satisfaction"):
            these = [i for i in items if info.loc[i, "latent"] == latent]
            if not these:
                continue
            # the reference group's mean must be a number, the other 'calibrated'
            if raw_means[(c, g_hi)][latent] != "calibrated":
                raise ConfigError(f"{latent} has published targets in {c}; its mean for {g_hi} "
                                  "must be 'calibrated'", column=f"population.means.{c}.{g_hi}")
            ref_mean = raw_means[(c, g_ref)][latent]
            if isinstance(ref_mean, str):
                raise ConfigError("the reference group's mean must be a number",
                                  column=f"population.means.{c}.{g_ref}.{latent}")
            diffs = np.array([pairs[i][0] - pairs[i][1] for i in these])
            signs = np.where(info.loc[these, "reverse"].to_numpy(), -1.0, 1.0)
            if latent == "satisfaction":
                lam = np.full(len(these), satisfaction_loading)
                gap = float(np.mean(diffs * signs / lam))
                # each satisfaction item's loading is fixed; one gap; the first item is exact
                lam = diffs * signs / gap if len(these) > 1 and gap != 0 else lam
            else:
                gap = float(np.mean(np.abs(diffs)) / mean_loading) * np.sign(np.mean(diffs * signs))
                lam = diffs * signs / gap
            if gap == 0:
                raise ConfigError("published percentages are equal in both groups; the gap is 0 "
                                  "and loadings are not identified", column=f"calibration.{c}")
            for i, lam_i in zip(these, lam):
                loadings[i] = float(lam_i)
                z_hi, z_ref = pairs[i]
                sign = -1.0 if info.loc[i, "reverse"] else 1.0
                # P(y >= cut) = 1 - Phi(tau - mu), mu = sign * loading * latent mean
                tau = -z_ref + sign * lam_i * float(ref_mean)
                cut = satisfied_min if latent == "satisfaction" else agree_min
                index = int(math.ceil(cut - info.loc[i, "min"])) - 1
                cuts[i] = (index, float(tau))
            solved_means.setdefault((c, g_hi), {})[latent] = float(ref_mean) + gap
            gaps[latent] = gap
    return {"loadings": loadings, "cuts": cuts, "means": solved_means,
            "connection_gap": gaps.get("connection"), "satisfaction_gap": gaps.get("satisfaction")}


def simulate(config: Population | Mapping | str | os.PathLike, n: int, *, seed: Any = None,
             instrument: Any = None, overrides: Mapping | None = None) -> Simulation:
    """Simulate a survey from a population (a :class:`Population`, a config mapping with
    ``population`` and ``calibration`` tables, or a TOML path).

    ``seed`` (keyword-only): an int, a :class:`numpy.random.SeedSequence` or a
    :class:`numpy.random.Generator` (see :meth:`Population.simulate`); the same seed gives the
    same respondents.

    Returns a :class:`Simulation`: ``.data`` (raw responses), ``.latent`` (true scores),
    ``.truth`` (true parameters), ``.survey()`` (validated through ``read_survey``).
    """
    if isinstance(config, Population):
        if overrides:
            raise ConfigError("overrides need a config, not a built Population")
        pop = config
    elif isinstance(config, Mapping):
        popcfg = config.get("population", config)
        pop = Population.from_config(popcfg, instrument=instrument, items=popcfg.get("items"),
                                     calibration=config.get("calibration"), overrides=overrides)
    else:
        pop = Population.from_toml(config, instrument=instrument, overrides=overrides)
    return pop.simulate(n, seed=seed)


# --------------------------------------------------------------------------------------------
# planning: power from population moments (analytic, checked by Monte Carlo)
# --------------------------------------------------------------------------------------------

def composite_scores(data: pd.DataFrame, items: pd.DataFrame,
                     constructs: Sequence[str] | None = None) -> pd.DataFrame:
    """POMP construct scores: each item rescaled to 0-100 over its scale (reverse-keyed items
    reversed), then averaged; the same scores as ``Survey.scores(method="pomp")``, so items on
    different scales (recommend 0-10, agreement 1-5) weigh the same.

    ``items`` is :attr:`Population.items` (item construct min max reverse ...).
    """
    out = {}
    for construct, rows in items.groupby("construct", sort=False):
        if constructs is not None and construct not in constructs:
            continue
        cols = []
        for row in rows.itertuples():
            x = data[row.item].to_numpy(dtype=float)
            x = row.min + row.max - x if row.reverse else x
            cols.append(100.0 * (x - row.min) / (row.max - row.min))
        out[construct] = np.mean(cols, axis=0)
    return pd.DataFrame(out, index=data.index)


def _t_power(delta, df, alpha):
    """Two-sided power of a t test with noncentrality ``delta`` (scipy's noncentral t)."""
    from scipy import stats

    crit = stats.t.ppf(1 - alpha / 2, df)
    return stats.nct.sf(crit, df, delta) + stats.nct.cdf(-crit, df, delta)


def ols_moments(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Population OLS of y on [1, x]: slopes, residual variance, inverse covariance of x."""
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    sxx = xc.T @ xc / len(x)
    sxy = xc.T @ yc / len(x)
    beta = np.linalg.solve(sxx, sxy)
    resid = yc - xc @ beta
    return beta, float(resid @ resid / len(x)), np.linalg.inv(sxx)


def slope_power(n_per_cell, beta: float, sigma2: float, sxx_inv_jj: float, *, alpha: float = 0.05,
                n_predictors: int = 2) -> np.ndarray:
    """Power of the OLS t test of one slope in one cell of ``n`` respondents.

    ``se = sqrt(sigma2 * [Sxx^-1]_jj / n)`` (population moments), ``df = n - p - 1``.

    >>> float(slope_power(100, 0.2, 1.0, 1.0).round(3))   # beta/se = 2: about 50% power
    0.508
    """
    n = np.asarray(n_per_cell, dtype=float)
    se = np.sqrt(sigma2 * sxx_inv_jj / n)
    return _t_power(beta / se, n - n_predictors - 1, alpha)


def slope_difference_power(n_per_cell, diff: float, var_a: float, var_b: float, *,
                           alpha: float = 0.05, n_predictors: int = 2) -> np.ndarray:
    """Power of the test that a slope differs between two cells of ``n`` each (the interaction
    of a fully interacted model, with separate residual variances): ``var_a``, ``var_b`` are the
    slope's sampling variances times n."""
    n = np.asarray(n_per_cell, dtype=float)
    se = np.sqrt((var_a + var_b) / n)
    return _t_power(diff / se, 2 * (n - n_predictors - 1), alpha)


def item_means(population: Population, cell: tuple[str, str], items: Sequence[str]) -> np.ndarray:
    """Exact population means of items in a cell: ``E[y] = min + sum_k P(y >= k)``."""
    rows = population.items.set_index("item")
    return np.array([rows.loc[i, "min"] + sum(population.percent(i, k, cell) / 100.0
                                              for k in range(rows.loc[i, "min"] + 1,
                                                             rows.loc[i, "max"] + 1))
                     for i in items])


def scalar_ncp(population: Population, data: pd.DataFrame, category: str,
               groups: Sequence[str], construct: str = "connection",
               model: str | None = None) -> float:
    """Per-respondent noncentrality of the scalar-vs-metric chi-square difference test.

    The metric and scalar models are fitted by the SEM engine to the *population* moments of two
    equal-sized groups (exact item means from the thresholds, covariances from ``data``, a large
    sample of the population), the standard way to get a noncentrality parameter (Satorra & Saris
    1985): ``ncp(n per group) = 2 n * (F_scalar - F_metric)``. Items are analysed as continuous,
    as the study does, so coarsening effects are included.
    """
    from connection.latent import cfa

    inst = population.instrument or _default_instrument()
    items = [i for i in population.items["item"] if
             population.items.set_index("item").loc[i, "construct"] == construct]
    big = 10 ** 6
    stats = []
    for g in groups:
        mask = ((data[population.category_column] == category)
                & (data[population.group_column] == g)).to_numpy()
        y = data.loc[mask, items].to_numpy(dtype=float, copy=True)
        rev = population.items.set_index("item").loc[items]
        flip = rev["reverse"].to_numpy(dtype=bool)
        y[:, flip] = (rev["min"] + rev["max"]).to_numpy()[flip] - y[:, flip]
        mu = item_means(population, (category, g), items)
        mu[flip] = (rev["min"] + rev["max"]).to_numpy()[flip] - mu[flip]
        stats.append({"n": big, "cov": pd.DataFrame(np.cov(y.T), index=items, columns=items),
                      "mean": pd.Series(mu, index=items)})
    model = model or inst.model_syntax(construct)
    metric = cfa(model, sample_stats=stats, group_equal=("loadings",))
    scalar = cfa(model, sample_stats=stats, group_equal=("loadings", "intercepts"))
    total = big * len(groups)
    return float((scalar.fit_measures["chisq"] - metric.fit_measures["chisq"]) / total
                 * len(groups))


def chisq_power(ncp, df: int, *, alpha: float = 0.05) -> np.ndarray:
    """Power of a chi-square test with noncentrality ``ncp`` (array) and ``df``."""
    from scipy import stats

    crit = stats.chi2.ppf(1 - alpha, df)
    return stats.ncx2.sf(crit, df, np.maximum(np.asarray(ncp, dtype=float), 1e-12))


# --------------------------------------------------------------------------------------------
# parameter recovery: the structural model fitted per cell against the truth
# --------------------------------------------------------------------------------------------

def true_structural_std_lv(population: Population) -> pd.DataFrame:
    """True structural coefficients in the metric of a ``std_lv=True`` fit.

    With ``std_lv=True`` the engine fixes the variances of exogenous latents *and the residual
    variances of endogenous latents* to 1, so the true coefficient in that metric is
    ``b / sqrt(1 - R2)`` (the outcome latent has residual variance ``1 - R2`` in the population).
    Columns: category, group, outcome, predictor, coefficient (standardized), coefficient_std_lv.
    """
    rows = []
    for c, g in population.cells:
        r = population.corr[(c, g)][0, 1]
        for o, (bc, bs) in zip(OUTCOMES, population.outcome_coef[(c, g)]):
            resid = math.sqrt(1.0 - (bc * bc + bs * bs + 2 * bc * bs * r))
            rows.append((c, g, o, "connection", bc, bc / resid))
            rows.append((c, g, o, "satisfaction", bs, bs / resid))
    return pd.DataFrame(rows, columns=["category", "group", "outcome", "predictor", "coefficient",
                                       "coefficient_std_lv"])


def recovery_model(instrument, outcomes: Sequence[str] = ("advocacy", "loyalty"), *,
                   ordered: bool = False) -> str:
    """The structural model used to check recovery: outcome latents on connection and
    satisfaction, each measured by its items (outcomes need at least two items); ``ordered``:
    the syntax for ordinal items (:meth:`connection.data.Instrument.model_syntax`)."""
    constructs = ["connection", "satisfaction", *outcomes]
    lines = [instrument.model_syntax(constructs, ordered=ordered)]
    lines += [f"{o} ~ connection + satisfaction" for o in outcomes]
    return "\n".join(lines)


def recover(population: Population, data: pd.DataFrame, instrument=None,
            outcomes: Sequence[str] = ("advocacy", "loyalty"), *, level: float = 0.95,
            estimator: str = "WLSMV") -> pd.DataFrame:
    """Fit the structural model in every cell and set the estimates beside the truth.

    ``data`` are analysed responses (reverse-keyed items reversed, as ``Survey.data``).
    ``estimator``: ``"WLSMV"`` (default) fits the items as what the population makes them,
    ordinal cuts of latent responses (polychoric correlations, every item of the instrument's
    :meth:`~connection.data.Instrument.ordered_items` ordered, delta parameterization), so the
    truth is what it estimates; ``"ML"`` or ``"MLR"`` treat the integer codes as continuous
    (their loss from coarsening is then part of what the check measures).
    Returns one row per cell x outcome x predictor: category, group, outcome, predictor, true,
    estimate, se, ci_lower, ci_upper, covered, std_all, true_std, converged, estimator.
    """
    from connection.latent import sem

    z = z_critical(check_level(level))
    estimator = check_choice(str(estimator).upper(), "estimator",
                             ("WLSMV", "ULSMV", "DWLS", "ULS", "ML", "MLR"))
    instrument = instrument or population.instrument or _default_instrument()
    ordinal = estimator not in ("ML", "MLR")
    model = recovery_model(instrument, outcomes, ordered=ordinal)
    kw = {"estimator": estimator}
    if ordinal:
        kw["ordered"] = instrument.ordered_items(["connection", "satisfaction", *outcomes])
    truth = true_structural_std_lv(population).set_index(["category", "group", "outcome",
                                                          "predictor"])
    rows = []
    for c, g in population.cells:
        sub = data[(data[population.category_column] == c) & (data[population.group_column] == g)]
        fit = sem(model, sub, std_lv=True, **kw)
        est = fit.estimates
        reg = est[est["op"] == "~"]
        for r in reg.itertuples():
            true = truth.loc[(c, g, r.lhs, r.rhs)]
            lo, hi = r.est - z * r.se, r.est + z * r.se
            rows.append({"category": c, "group": g, "outcome": r.lhs, "predictor": r.rhs,
                         "true": float(true["coefficient_std_lv"]), "estimate": float(r.est),
                         "se": float(r.se), "ci_lower": lo, "ci_upper": hi,
                         "covered": bool(lo <= true["coefficient_std_lv"] <= hi),
                         "std_all": float(r.std_all), "true_std": float(true["coefficient"]),
                         "converged": bool(fit.converged), "estimator": estimator})
    return pd.DataFrame(rows)


