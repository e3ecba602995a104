"""Shared primitives: argument checks, critical values, seeds, renamed keywords, warnings.

Every layer of the package checks its arguments, turns a confidence level into a critical value,
turns a seed into random streams and issues warnings through these few functions, so that the
same mistake gets the same typed error everywhere and a warning points at the user's line.

>>> round(z_critical(0.95), 6)
1.959964
>>> check_level(0.9)
0.9
>>> check_n_boot(0)
0
>>> a = as_generator(1).normal(size=2); b = as_generator(np.random.SeedSequence(1)).normal(size=2)
>>> bool((a == b).all())
True
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import numpy as np

from connection.errors import ArgumentError

__all__ = ["DEFAULT_N_BOOT", "DEFAULT_LEVEL", "check_level", "check_n_boot", "check_choice",
           "check_int", "z_critical", "as_seed_sequence", "as_generator", "spawn", "warn",
           "renamed_keywords", "SeedLike"]

#: bootstrap replicates when a function is asked for bootstrap intervals and given no number
DEFAULT_N_BOOT = 2000
#: confidence level of every interval unless ``level=`` says otherwise
DEFAULT_LEVEL = 0.95

SeedLike = "int | np.random.SeedSequence | np.random.Generator | None"
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

F = TypeVar("F", bound=Callable[..., Any])


# ------------------------------------------------------------------------------------- arguments
def check_level(level: Any, name: str = "level") -> float:
    """A confidence level strictly between 0 and 1 (returned as float), else ArgumentError."""
    if isinstance(level, bool) or not isinstance(level, int | float | np.integer | np.floating):
        raise ArgumentError(f"{name} must be a number strictly between 0 and 1",
                            values=[level], expected="e.g. 0.95")
    value = float(level)
    if not (0.0 < value < 1.0):
        raise ArgumentError(f"{name} must lie strictly between 0 and 1", values=[level],
                            expected="e.g. 0.95")
    return value


def check_int(value: Any, name: str, *, minimum: int | None = None, what: str = "") -> int:
    """A whole number (not a bool, not a float) at least ``minimum``, else ArgumentError."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ArgumentError(f"{name} must be a whole number", values=[value],
                            expected=what or (f"an integer >= {minimum}" if minimum is not None
                                              else "an integer"))
    if minimum is not None and value < minimum:
        raise ArgumentError(f"{name} must be {minimum} or more", values=[value],
                            expected=what or f"an integer >= {minimum}")
    return int(value)


def check_n_boot(n_boot: Any, name: str = "n_boot") -> int:
    """Bootstrap replicates: a whole number, 0 (no bootstrap interval) or more."""
    return check_int(n_boot, name, minimum=0,
                     what="an integer >= 0 (0 = no bootstrap interval)")


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices`` (strings compared case-sensitively), else
    ArgumentError listing the choices."""
    options = list(choices)
    try:
        ok = value in options
    except TypeError:  # unhashable or incomparable
        ok = False
    if not ok:
        raise ArgumentError(f"{name} must be one of the listed choices", values=[value],
                            expected=", ".join(repr(c) for c in options))
    return value


def z_critical(level: float) -> float:
    """The two-sided standard-normal critical value for a confidence ``level`` (1.96 at 0.95)."""
    from scipy.special import ndtri
    return float(ndtri(0.5 + check_level(level) / 2.0))


# ----------------------------------------------------------------------------------------- seeds
def as_seed_sequence(seed: Any, name: str = "seed") -> np.random.SeedSequence:
    """The root of every random stream: ``seed`` as a :class:`numpy.random.SeedSequence`.

    Accepts ``None`` (fresh entropy: not reproducible), a non-negative integer, a SeedSequence
    (used as is) or a :class:`numpy.random.Generator` (it is consumed: 4 words are drawn from it,
    so the same generator state gives the same streams, and the generator moves on, as
    scikit-learn treats a RandomState). Anything else is an ArgumentError.
    """
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return seed if seed is not None else np.random.SeedSequence()
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**32, size=4, dtype=np.uint64).tolist())
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ArgumentError(f"{name} must be a whole number, a numpy SeedSequence or Generator, or "
                            "None", values=[seed],
                            expected="e.g. seed=2024 (the same seed gives the same results)")
    if seed < 0:
        raise ArgumentError(f"{name} must not be negative", values=[seed],
                            expected="an integer >= 0")
    return np.random.SeedSequence(int(seed))


def as_generator(seed: Any, name: str = "seed") -> np.random.Generator:
    """A :class:`numpy.random.Generator` from any seed :func:`as_seed_sequence` accepts."""
    return np.random.default_rng(as_seed_sequence(seed, name))


def spawn(seed: Any, n: int, name: str = "seed") -> list[np.random.SeedSequence]:
    """``n`` independent child seed sequences of ``seed`` (for chunks, groups, outcomes)."""
    return as_seed_sequence(seed, name).spawn(int(n))


# -------------------------------------------------------------------------------------- warnings
def _outside_package_stacklevel() -> int:
    """The stacklevel (for :func:`warnings.warn` called in :func:`warn`) of the first frame
    outside this package: the user's line (or the study script's)."""
    frame = sys._getframe(2)  # the caller of warn()
    level = 2
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_PACKAGE_DIR + os.sep):
            return level
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue a warning that points at the first line outside the package (no magic stacklevel).

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn("look", UserWarning)
    >>> w[0].filename.endswith("_common.py")
    False
    """
    warnings.warn(message, category, stacklevel=_outside_package_stacklevel())


# ------------------------------------------------------------------------------ renamed keywords
def renamed_keywords(**old_to_new: str) -> Callable[[F], F]:
    """Keep old keyword names working for one release with a FutureWarning.

    ``@renamed_keywords(group_columns="groups")`` lets ``f(group_columns=x)`` mean
    ``f(groups=x)`` and warns; giving both names is an ArgumentError. The wrapped function keeps
    its signature, name and docstring (``inspect.signature``/``help()`` show the new names) and
    pickles like the function it wraps.
    """
    def decorate(function: F) -> F:
        params = inspect.signature(function).parameters
        for new in old_to_new.values():
            if new not in params:
                raise TypeError(f"{function.__qualname__} has no parameter {new!r}")

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if kwargs:
                kwargs = _translate(function.__qualname__, old_to_new, kwargs)
            return function(*args, **kwargs)

        wrapper.__renamed_keywords__ = dict(old_to_new)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]
    return decorate


def _translate(where: str, old_to_new: Mapping[str, str], kwargs: dict[str, Any]) -> dict[str, Any]:
    found = [old for old in old_to_new if old in kwargs]
    if not found:
        return kwargs
    kwargs = dict(kwargs)
    for old in found:
        new = old_to_new[old]
        if new in kwargs:
            raise ArgumentError(f"{where}() got both {old}= (the old name) and {new}=",
                                expected=f"only {new}=")
        warn(f"{where}(): the keyword {old}= is renamed {new}=; {old}= will stop working in "
             "the next release", FutureWarning)
        kwargs[new] = kwargs.pop(old)
    return kwargs


# ------------------------------------------------------------------------------------ vocabulary
#: One word per role, everywhere in the public API (DESIGN.md section 3a; tests/test_api_surface.py
#: walks the public functions and methods and checks them against this table).
VOCABULARY: dict[str, str] = {
    "data": "the respondents: a DataFrame or a Survey (whose instrument is then used); the first "
            "argument of every analysis (the engine follows lavaan: model first, then data)",
    "model": "lavaan model syntax, and nothing else",
    "constructs": "item sets: a mapping construct -> item columns, an Instrument, or construct names",
    "items": "a flat list of item columns",
    "outcomes": "the dependent variables of a regression family",
    "outcome": "the one dependent variable of a function that takes one (relative_weights)",
    "item": "the one item column a function summarises (nps)",
    "rows": "banner: the variables shown as rows (their categories or means)",
    "columns": "banner: the variables whose categories are the columns (the groups compared)",
    "weights": "survey weights: a column name, one weight per row, a rake result; a Survey's "
               "own weights unless weights=None",
    "group": "fit or estimate separately in each group of this column (or columns); lavaan's word",
    "between": "the column of a two-group contrast; a= and b= name its two levels",
    "strata": "resample within these groups (bootstrap); no separate fits",
    "correction": "multiplicity correction of p-values: 'holm', 'bh', 'bonferroni' or None",
    "family": "the regression family: 'ols', 'logit' or 'ordinal'",
    "level": "confidence level of every interval (DEFAULT_LEVEL)",
    "alpha": "the size of a test (TOST, an invariance step's chi-square difference), not an interval",
    "n_boot": "bootstrap replicates: DEFAULT_N_BOOT where the interval is a bootstrap one; where "
              "the bootstrap is an optional extra, 0 (none) by default",
    "seed": "int, numpy SeedSequence or Generator (as_seed_sequence); keyword-only",
    "n_jobs": "worker processes (1 = in process, -1 = every core)",
    "progress": "a progress bar: True, False or None (only when the work is long)",
}

#: Retired keyword names -> the vocabulary word that replaced them. They keep working for one
#: release with a FutureWarning (renamed_keywords); no public signature may use them.
RETIRED: dict[str, str] = {
    "by": "group",
    "segment": "between",
    "group_columns": "group",
    "adjust": "correction",
}

#: Parameters that, when a public function has them, must be keyword-only.
KEYWORD_ONLY = ("seed", "level", "n_boot", "correction", "family", "n_jobs", "progress", "alpha",
                "strata")
