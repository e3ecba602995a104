"""connection: measure how emotionally connected consumers are to brands, and what it is worth.

The package is built in layers, each a subpackage, lowest first (DESIGN.md section 2):
``stats`` (the bootstrap), ``data`` (instruments, surveys), ``latent`` (the CFA/SEM engine),
``measurement`` (reliability, validity, the connection index), ``outcomes`` (drivers,
comparisons), ``simulation`` (populations with known truth); then ``plots``, ``context`` (the
context surveys) and ``study`` (result folders). Every public function and class is re-exported
here as itself (``cx.reliability`` is the function, ``help(cx.drivers)`` shows it), imported
lazily so that ``import connection`` stays fast.

>>> import connection as cx
>>> inst = cx.instruments.default()
>>> "connection" in inst.constructs
True
>>> import inspect
>>> list(inspect.signature(cx.reliability).parameters)[:2]
['data', 'constructs']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from connection import errors
from connection.errors import *  # noqa: F403  (the exception hierarchy is cheap and public)

__version__ = "0.1.0"

# public name -> the subpackage that exports it
_LAZY = {
    # data layer
    "Instrument": "connection.data",
    "Construct": "connection.data",
    "Item": "connection.data",
    "Scale": "connection.data",
    "Variable": "connection.data",
    "read_survey": "connection.data",
    "Survey": "connection.data",
    "check_survey": "connection.data",
    # shared statistics
    "bootstrap": "connection.stats",
    "BootstrapResult": "connection.stats",
    "rake": "connection.stats",
    "RakeResult": "connection.stats",
    "describe": "connection.stats",
    "sample_moments": "connection.stats",
    "SampleMomentsResult": "connection.stats",
    # latent-variable engine
    "cfa": "connection.latent",
    "sem": "connection.latent",
    "Fit": "connection.latent",
    "parse_model": "connection.latent",
    "lrt": "connection.latent",
    "polychoric": "connection.latent",
    "PolychoricResult": "connection.latent",
    "collapse_categories": "connection.latent",
    "CollapseResult": "connection.latent",
    "invariance": "connection.latent",
    "InvarianceResult": "connection.latent",
    "SemBootstrapResult": "connection.latent",
    # measurement: reliability, validity, the index
    "reliability": "connection.measurement",
    "item_statistics": "connection.measurement",
    "htmt": "connection.measurement",
    "fornell_larcker": "connection.measurement",
    "parallel_analysis": "connection.measurement",
    "efa": "connection.measurement",
    "ConnectionIndex": "connection.measurement",
    "SegmentRule": "connection.measurement",
    # outcomes: drivers and comparisons
    "drivers": "connection.outcomes",
    "DriversResult": "connection.outcomes",
    "compare": "connection.outcomes",
    "CompareResult": "connection.outcomes",
    "value_ratio": "connection.outcomes",
    "adjust_pvalues": "connection.outcomes",
    "relative_weights": "connection.outcomes",
    "RelativeWeightsResult": "connection.outcomes",
    "nps": "connection.outcomes",
    "nps_drivers": "connection.outcomes",
    "NPSDriversResult": "connection.outcomes",
    "banner": "connection.outcomes",
    "BannerResult": "connection.outcomes",
    "importance_performance": "connection.outcomes",
    "IPMAResult": "connection.outcomes",
    "predictive_comparison": "connection.outcomes",
    "PredictiveComparisonResult": "connection.outcomes",
    # simulation
    "simulate": "connection.simulation",
    "Simulation": "connection.simulation",
    "Population": "connection.simulation",
    "monte_carlo": "connection.simulation",
    "MonteCarloResult": "connection.simulation",
}
# namespaces: modules whose members are used as cx.<module>.<name>
_MODULES = ("instruments", "plots", "context", "study", "data", "stats", "latent", "measurement",
            "outcomes", "simulation")

__all__ = sorted([*_LAZY, *_MODULES, "errors", "__version__", *errors.__all__])


def __getattr__(name: str):
    if name in _MODULES:
        value = importlib.import_module(f"connection.{name}")
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'connection' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only (every public name)
    from connection import (  # noqa: F401,E501
        context,
        instruments,
        latent,
        measurement,
        outcomes,
        plots,
        simulation,
        stats,
        study,
    )
    from connection.data import (  # noqa: F401,E501
        Construct,
        Instrument,
        Item,
        Scale,
        Survey,
        Variable,
        check_survey,
        read_survey,
    )
    from connection.latent import (  # noqa: F401,E501
        CollapseResult,
        Fit,
        InvarianceResult,
        PolychoricResult,
        SemBootstrapResult,
        cfa,
        collapse_categories,
        invariance,
        lrt,
        parse_model,
        polychoric,
        sem,
    )
    from connection.measurement import (  # noqa: F401,E501
        ConnectionIndex,
        SegmentRule,
        efa,
        fornell_larcker,
        htmt,
        item_statistics,
        parallel_analysis,
        reliability,
    )
    from connection.outcomes import (  # noqa: F401,E501
        BannerResult,
        CompareResult,
        DriversResult,
        IPMAResult,
        NPSDriversResult,
        PredictiveComparisonResult,
        RelativeWeightsResult,
        adjust_pvalues,
        banner,
        compare,
        drivers,
        importance_performance,
        nps,
        nps_drivers,
        predictive_comparison,
        relative_weights,
        value_ratio,
    )
    from connection.simulation import (  # noqa: F401,E501
        MonteCarloResult,
        Population,
        Simulation,
        monte_carlo,
        simulate,
    )
    from connection.stats import (  # noqa: F401,E501
        BootstrapResult,
        RakeResult,
        SampleMomentsResult,
        bootstrap,
        describe,
        rake,
        sample_moments,
    )
