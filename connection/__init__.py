"""connection: measure how emotionally connected consumers are to brands, and what it is worth.

The public API is re-exported here and imported lazily, so ``import connection`` stays fast
(statsmodels, seaborn and matplotlib load only when a function that needs them is called).

>>> import connection as cx
>>> inst = cx.instruments.default()
>>> "connection" in inst.constructs
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from connection import errors
from connection.errors import *  # noqa: F403  (the exception hierarchy is cheap and public)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    # data layer
    "Instrument": "connection.instrument",
    "Construct": "connection.instrument",
    "Item": "connection.instrument",
    "instruments": "connection.instruments",
    "read_survey": "connection.data",
    "Survey": "connection.data",
    "check_survey": "connection.data",
    "Scale": "connection.instrument",
    "Variable": "connection.instrument",
    # latent-variable engine
    "cfa": "connection.sem",
    "sem": "connection.sem",
    "Fit": "connection.sem",
    "parse_model": "connection.sem",
    "polychoric": "connection.sem.polychoric",
    # reliability, validity, invariance
    "reliability": "connection.reliability",
    "htmt": "connection.reliability",
    "fornell_larcker": "connection.reliability",
    "parallel_analysis": "connection.reliability",
    "efa": "connection.reliability",
    "invariance": "connection.sem.invariance",
    # index, drivers, comparisons
    "ConnectionIndex": "connection.index",
    "SegmentRule": "connection.index",
    "drivers": "connection.drivers",
    "compare": "connection.compare",
    "value_ratio": "connection.compare",
    "bootstrap": "connection.bootstrap",
    # simulation and studies
    "simulate": "connection.simulate",
    "plots": "connection.plots",
    "context": "connection.context",
    "study": "connection.study",
}

__all__ = sorted([*_LAZY, "errors", "__version__", *errors.__all__])


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'connection' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    # a top-level module is returned whole, as Python's import system would bind it anyway;
    # those named like their main function (reliability, bootstrap, drivers, ...) are callable
    # (see connection/_callable.py)
    value = module if module_name == f"connection.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from connection import instruments, plots  # noqa: F401
    from connection.data import Survey, read_survey  # noqa: F401
    from connection.instrument import Construct, Instrument, Item  # noqa: F401
