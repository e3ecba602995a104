"""The population config, typed: one dataclass per table, validated once.

:meth:`PopulationConfig.parse` reads the ``[population]`` table of a study TOML (merged with any
``overrides``) and its ``[calibration]`` table in ONE pass: every key known (a typo is refused
with the nearest key), every value of the right type (numbers finite, tables tables), every
category, group and latent named where one is expected. What the config alone cannot tell — an
item the instrument lacks, a correlation matrix that is not positive definite, an outcome whose
explained variance reaches 1, percentages that cannot be calibrated — is checked by the builders
of :meth:`connection.simulation.Population.from_config`, which get the parsed config and the
items. Every failure is a :class:`~connection.errors.ConfigError` naming the dotted key.

>>> cfg = PopulationConfig.parse({"groups": ["a", "b"], "categories": ["x"],
...                               "means": {"x": {"a": {"connection": 0.5}}}})
>>> cfg.cells
[('x', 'a'), ('x', 'b')]
>>> cfg.means[("x", "a")]["connection"], cfg.means[("x", "b")]["connection"]
(0.5, 0.0)
>>> PopulationConfig.parse({"groups": ["a"], "categories": ["x"], "outcome": {}})
... # doctest: +ELLIPSIS
Traceback (most recent call last):
...
connection.errors.ConfigError: unknown key in the population config [column 'population', ...]. Did you mean 'outcomes'?
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connection.errors import ConfigError

__all__ = ["EXOGENOUS", "OUTCOMES", "PopulationConfig", "CalibrationConfig", "LoadingConfig",
           "ThresholdConfig", "OutcomeConfig", "SpendConfig", "deep_merge"]

#: exogenous latent variables of the model, in order
EXOGENOUS = ("connection", "satisfaction", "features", "quality", "attachment")
#: outcome latent variables (linear in connection and satisfaction)
OUTCOMES = ("advocacy", "loyalty", "repurchase")
LATENTS = EXOGENOUS + OUTCOMES

#: standardized slopes (connection, satisfaction) of each outcome when the config gives none
DEFAULT_OUTCOME = {"advocacy": (0.50, 0.15), "loyalty": (0.40, 0.25), "repurchase": (0.40, 0.20)}
#: even spacing of an uncalibrated item's thresholds (latent-response SD units)
DEFAULT_SPAN = (-1.8, 1.0)

POPULATION_KEYS = ("groups", "categories", "group_column", "category_column", "id_column",
                   "spend_column", "cell_shares", "constructs", "means", "correlations",
                   "correlations_by_cell", "loadings", "thresholds", "outcomes", "spend",
                   "threshold_shifts", "items")
CALIBRATION_KEYS = ("source", "agree_min", "satisfied_min", "mean_loading",
                    "satisfaction_loading", "targets")
OUTCOME_KEYS = ("connection", "satisfaction", "group_interaction", "category_interaction")
SPEND_KEYS = ("median", "connection", "satisfaction", "sd")
THRESHOLD_KEYS = ("span", "items", "follow_calibrated")

Cell = tuple[str, str]


# --------------------------------------------------------------------------------- primitives
def deep_merge(base: Mapping, extra: Mapping) -> dict:
    """``base`` with ``extra`` merged over it, table by table (``overrides``)."""
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


def _check_keys(table: Mapping, allowed: Sequence[str], where: str) -> None:
    """Refuse unknown keys (a typo would otherwise be ignored silently)."""
    unknown = [k for k in table if k not in allowed]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), allowed, n=1)
        raise ConfigError("unknown key in the population config", column=where,
                          values=unknown, expected="one of " + ", ".join(allowed),
                          hint=f"Did you mean {close[0]!r}?" if close else None)


def _table(value: Any, where: str) -> Mapping:
    """``value`` if it is a table (a mapping; absent = empty), else a ConfigError."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError("expected a table", column=where, values=[_shown(value)],
                          expected="a TOML table (key = value pairs)")
    return value


def _number(value: Any, where: str) -> float:
    """A finite number (not a bool, not a text), as float, else a ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError("expected a number", column=where, values=[_shown(value)],
                          expected="a finite number")
    return float(value)


def _names(value: Any, where: str) -> tuple[str, ...]:
    """A list of distinct names (each a text or a number, kept as text)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigError("expected a list of names", column=where, values=[_shown(value)],
                          expected='e.g. ["social_media_moms", "other_moms"]')
    names = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise ConfigError("a name must be a text", column=where, values=[_shown(v)])
        names.append(str(v))
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError("names repeat", column=where, values=repeated,
                          expected="each name once")
    return tuple(names)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError("expected a non-empty text", column=where, values=[_shown(value)])
    return value


def _shown(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else type(value).__name__


def _known(name: str, allowed: Sequence[str], message: str, where: str) -> str:
    if name not in allowed:
        raise ConfigError(message, column=where, values=[name],
                          expected=", ".join(map(str, allowed)))
    return name


# ------------------------------------------------------------------------------------ sections
@dataclass(frozen=True)
class CalibrationConfig:
    """The ``[calibration]`` table: published targets and what counts as agreeing.

    ``targets``: category -> group -> item -> published percent (as given). ``mean_loading``
    and ``satisfaction_loading`` are None when not given (the calibration then assumes 0.70
    and 0.85).
    """

    targets: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    agree_min: float = 4.0
    satisfied_min: float = 8.0
    mean_loading: Any = None
    satisfaction_loading: Any = None
    source: Any = None

    @classmethod
    def parse(cls, table: Mapping | None, groups: Sequence[str],
              categories: Sequence[str]) -> CalibrationConfig:
        cal = _table(table, "calibration")
        _check_keys(cal, CALIBRATION_KEYS, "calibration")
        numbers = {k: _number(cal[k], f"calibration.{k}") for k in
                   ("agree_min", "satisfied_min", "mean_loading", "satisfaction_loading")
                   if k in cal}
        if "source" in cal and not isinstance(cal["source"], str):
            raise ConfigError("expected a text", column="calibration.source",
                              values=[_shown(cal["source"])])
        targets: dict[str, dict[str, dict[str, Any]]] = {}
        for c, by_group in _table(cal.get("targets"), "calibration.targets").items():
            _known(c, categories, "calibration targets for a category that is not in "
                   "population.categories", "calibration.targets")
            where = f"calibration.targets.{c}"
            if len(groups) != 2:
                raise ConfigError("calibration needs exactly two groups",
                                  column="calibration.targets")
            targets[c] = {}
            for g, by_item in _table(by_group, where).items():
                _known(g, groups, "calibration targets for a group that is not in "
                       "population.groups", where)
                items = _table(by_item, f"{where}.{g}")
                for item, value in items.items():
                    _number(value, f"{where}.{g}.{item}")
                targets[c][g] = dict(items)
        return cls(targets=targets, agree_min=numbers.get("agree_min", 4.0),
                   satisfied_min=numbers.get("satisfied_min", 8.0),
                   mean_loading=cal.get("mean_loading"),
                   satisfaction_loading=cal.get("satisfaction_loading"), source=cal.get("source"))


@dataclass(frozen=True)
class LoadingConfig:
    """``[population.loadings]``: construct (or latent) -> loading, and ``items`` -> per item.

    A loading is a number or ``"calibrated"`` (solved from a published target)."""

    constructs: dict[str, float | str] = field(default_factory=dict)
    items: dict[str, float | str] = field(default_factory=dict)

    @classmethod
    def parse(cls, table: Any) -> LoadingConfig:
        raw = dict(_table(table, "population.loadings"))
        per_item = _table(raw.pop("items", None), "population.loadings.items")
        return cls(constructs={k: _loading(v, f"population.loadings.{k}") for k, v in raw.items()},
                   items={k: _loading(v, f"population.loadings.items.{k}")
                          for k, v in per_item.items()})


def _loading(value: Any, where: str) -> float | str:
    if value == "calibrated":
        return "calibrated"
    if isinstance(value, str):
        raise ConfigError("a loading must be a number or 'calibrated'", column=where,
                          values=[value])
    return _number(value, where)


@dataclass(frozen=True)
class ThresholdConfig:
    """``[population.thresholds]``: the even ``span`` of uncalibrated items, per-item
    thresholds (``items``), and whether uncalibrated items follow the calibrated ones."""

    span: tuple[float, float] = DEFAULT_SPAN
    items: dict[str, tuple[float, ...]] = field(default_factory=dict)
    follow_calibrated: bool = True

    @classmethod
    def parse(cls, table: Any) -> ThresholdConfig:
        raw = _table(table, "population.thresholds")
        _check_keys(raw, THRESHOLD_KEYS, "population.thresholds")
        span = raw.get("span", DEFAULT_SPAN)
        if isinstance(span, str) or not isinstance(span, Sequence) or len(span) != 2:
            raise ConfigError("thresholds.span must be two numbers [low, high]",
                              column="population.thresholds.span", values=[_shown(span)])
        lo, hi = (_number(v, "population.thresholds.span") for v in span)
        items = {}
        for item, tau in _table(raw.get("items"), "population.thresholds.items").items():
            where = f"population.thresholds.items.{item}"
            if isinstance(tau, str) or not isinstance(tau, Sequence):
                raise ConfigError("item thresholds must be a list of numbers", column=where,
                                  values=[_shown(tau)])
            items[item] = tuple(_number(v, where) for v in tau)
        follow = raw.get("follow_calibrated", True)
        if not isinstance(follow, bool):
            raise ConfigError("expected true or false",
                              column="population.thresholds.follow_calibrated",
                              values=[_shown(follow)])
        return cls(span=(lo, hi), items=items, follow_calibrated=follow)


@dataclass(frozen=True)
class OutcomeConfig:
    """One ``[population.outcomes.<outcome>]`` table: standardized slopes on connection and
    satisfaction, and what the first group and the second category add to the connection slope."""

    connection: float
    satisfaction: float
    group_interaction: float = 0.0
    category_interaction: float = 0.0

    @classmethod
    def parse(cls, name: str, table: Any) -> OutcomeConfig:
        where = f"population.outcomes.{name}"
        raw = _table(table, where)
        _check_keys(raw, OUTCOME_KEYS, where)
        default = {"connection": DEFAULT_OUTCOME[name][0], "satisfaction": DEFAULT_OUTCOME[name][1],
                   "group_interaction": 0.0, "category_interaction": 0.0}
        return cls(**{k: _number(raw[k], f"{where}.{k}") if k in raw else v
                      for k, v in default.items()})


@dataclass(frozen=True)
class SpendConfig:
    """``[population.spend]``: log spend = log(median of the category) + connection * c +
    satisfaction * s + sd * e."""

    median: dict[str, float]
    connection: float = 0.3
    satisfaction: float = 0.1
    sd: float = 0.6

    @classmethod
    def parse(cls, table: Any, categories: Sequence[str]) -> SpendConfig:
        raw = _table(table, "population.spend")
        _check_keys(raw, SPEND_KEYS, "population.spend")
        median = {c: 100.0 for c in categories}
        for c, value in _table(raw.get("median"), "population.spend.median").items():
            _known(c, categories, "spend median for a category that is not in "
                   "population.categories", "population.spend.median")
            median[c] = _number(value, f"population.spend.median.{c}")
            if median[c] <= 0:
                raise ConfigError("a median spend must be positive",
                                  column=f"population.spend.median.{c}", values=[value])
        numbers = {k: _number(raw[k], f"population.spend.{k}")
                   for k in ("connection", "satisfaction", "sd") if k in raw}
        if numbers.get("sd", 0.0) < 0:
            raise ConfigError("the spend sd must not be negative", column="population.spend.sd",
                              values=[raw["sd"]])
        return cls(median=median, **numbers)

    def as_dict(self) -> dict[str, Any]:
        return {"median": dict(self.median), "connection": self.connection,
                "satisfaction": self.satisfaction, "sd": self.sd}


# ----------------------------------------------------------------------------------- the whole
@dataclass(frozen=True)
class PopulationConfig:
    """The ``[population]`` table (and ``[calibration]``), typed and validated.

    ``means``: cell -> latent -> a number, ``"calibrated"`` or a category name (every exogenous
    latent present, 0 by default). ``correlations``: latent -> latent -> r for every cell;
    ``correlations_by_cell``: cell -> the same, merged over it. ``cell_shares``: cell -> share
    as given (empty: equal shares). ``threshold_shifts``: (item, category, group) -> shift.
    """

    groups: tuple[str, ...]
    categories: tuple[str, ...]
    group_column: str = "group"
    category_column: str = "category"
    id_column: str = "respondent_id"
    spend_column: str = "spend"
    cell_shares: dict[Cell, float] = field(default_factory=dict)
    constructs: dict[str, str] = field(default_factory=dict)
    means: dict[Cell, dict[str, float | str]] = field(default_factory=dict)
    correlations: dict[str, dict[str, float]] = field(default_factory=dict)
    correlations_by_cell: dict[Cell, dict[str, dict[str, float]]] = field(default_factory=dict)
    loadings: LoadingConfig = field(default_factory=LoadingConfig)
    thresholds: ThresholdConfig = field(default_factory=ThresholdConfig)
    outcomes: dict[str, OutcomeConfig] = field(default_factory=dict)
    spend: SpendConfig | None = None
    threshold_shifts: dict[tuple[str, str, str], float] = field(default_factory=dict)
    items: Mapping | None = None
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)

    @property
    def cells(self) -> list[Cell]:
        """(category, group) pairs, categories outer."""
        return [(c, g) for c in self.categories for g in self.groups]

    @classmethod
    def parse(cls, config: Mapping, calibration: Mapping | None = None,
              overrides: Mapping | None = None) -> PopulationConfig:
        """Validate the ``[population]`` table (``overrides`` merged over it) and the
        ``[calibration]`` table in one pass; a ConfigError names the first bad key."""
        raw = deep_merge(dict(_table(config, "population")),
                         _table(overrides, "overrides"))
        _check_keys(raw, POPULATION_KEYS, "population")
        groups = _names(raw.get("groups", ()), "population.groups")
        categories = _names(raw.get("categories", ()), "population.categories")
        for table in ("means", "cell_shares"):
            for c in _table(raw.get(table), f"population.{table}"):
                if str(c) not in categories:
                    raise ConfigError("means or cell shares for a category that is not in "
                                      "population.categories", column="population",
                                      values=[c], expected=", ".join(categories))
        if len(groups) < 1 or len(categories) < 1:
            raise ConfigError("population needs at least one group and one category",
                              column="population.groups/categories")
        cells = [(c, g) for c in categories for g in groups]
        columns = {k: _text(raw[k], f"population.{k}") for k in
                   ("group_column", "category_column", "id_column", "spend_column") if k in raw}
        outcomes = _table(raw.get("outcomes"), "population.outcomes")
        _check_keys(outcomes, OUTCOMES, "population.outcomes")
        return cls(
            groups=groups, categories=categories, **columns,
            cell_shares=_by_cell(raw.get("cell_shares"), "population.cell_shares", cells,
                                 _number),
            constructs=_constructs(raw.get("constructs")),
            means=_means(raw.get("means"), cells, categories),
            correlations=_correlations(raw.get("correlations"), "population.correlations"),
            correlations_by_cell=_by_cell(raw.get("correlations_by_cell"),
                                          "population.correlations_by_cell", cells,
                                          _correlations),
            loadings=LoadingConfig.parse(raw.get("loadings")),
            thresholds=ThresholdConfig.parse(raw.get("thresholds")),
            outcomes={o: OutcomeConfig.parse(o, outcomes.get(o)) for o in OUTCOMES},
            spend=SpendConfig.parse(raw.get("spend"), categories),
            threshold_shifts=_shifts(raw.get("threshold_shifts"), cells),
            items=raw.get("items"),
            calibration=CalibrationConfig.parse(calibration, groups, categories))


def _by_cell(value: Any, where: str, cells: Sequence[Cell], parse_one) -> dict[Cell, Any]:
    """category -> group -> value tables -> {cell: value}; every cell one of ``cells``."""
    what = where.split(".")[-1]
    categories = list(dict.fromkeys(c for c, _ in cells))
    groups = list(dict.fromkeys(g for _, g in cells))
    out = {}
    for c, by_group in _table(value, where).items():
        _known(c, categories, f"{what} for a category that is not in population.categories",
               where)
        for g, inner in _table(by_group, f"{where}.{c}").items():
            _known(g, groups, f"{what} for a group that is not in population.groups",
                   f"{where}.{c}")
            out[(str(c), str(g))] = parse_one(inner, f"{where}.{c}.{g}")
    return out


def _constructs(value: Any) -> dict[str, str]:
    out = {}
    for construct, latent in _table(value, "population.constructs").items():
        if latent not in LATENTS:
            raise ConfigError("constructs that the population model cannot generate",
                              column="population.constructs", values=[_shown(latent)],
                              expected=f"a mapping to one of {', '.join(LATENTS)}")
        out[str(construct)] = latent
    return out


def _means(value: Any, cells: Sequence[Cell],
           categories: Sequence[str]) -> dict[Cell, dict[str, float | str]]:
    given = _by_cell(value, "population.means", cells, lambda spec, where: _table(spec, where))
    out = {}
    for c, g in cells:
        spec = given.get((c, g), {})
        where = f"population.means.{c}.{g}"
        unknown = sorted(set(spec) - set(EXOGENOUS))
        if unknown:
            raise ConfigError("unknown latent in means", column=where, values=unknown)
        out[(c, g)] = {k: _mean(spec.get(k, 0.0), c, categories, f"{where}.{k}")
                       for k in EXOGENOUS}
    return out


def _mean(value: Any, category: str, categories: Sequence[str], where: str) -> float | str:
    if isinstance(value, str):
        if value == "calibrated" or (value in categories and value != category):
            return value
        raise ConfigError("latent mean must be a number, 'calibrated' (with a published "
                          "target) or a category name", column=where, values=[value])
    return _number(value, where)


def _correlations(value: Any, where: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for a, inner in _table(value, where).items():
        if a not in EXOGENOUS:
            raise ConfigError("unknown latent variable in correlations", column=where,
                              values=[a], expected=f"one of {', '.join(EXOGENOUS)}")
        for b, r in _table(inner, f"{where}.{a}").items():
            if b not in EXOGENOUS or b == a:
                raise ConfigError("unknown or self correlation", column=where,
                                  values=[f"{a}.{b}"])
            out.setdefault(a, {})[b] = _number(r, f"{where}.{a}.{b}")
    return out


def _shifts(value: Any, cells: Sequence[Cell]) -> dict[tuple[str, str, str], float]:
    out = {}
    for item, by_cat in _table(value, "population.threshold_shifts").items():
        where = f"population.threshold_shifts.{item}"
        for c, by_group in _table(by_cat, where).items():
            for g, delta in _table(by_group, f"{where}.{c}").items():
                if (c, g) not in cells:
                    raise ConfigError("threshold shift for an unknown cell", column=where,
                                      values=[f"{c}.{g}"])
                out[(str(item), c, g)] = _number(delta, f"{where}.{c}.{g}")
    return out
