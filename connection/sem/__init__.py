"""The latent-variable engine: CFA/SEM by ML and MLR, multi-group, FIML, matching lavaan 0.6.

>>> from connection.sem import cfa, sem, Fit, parse_model, lrt
"""

from connection.sem.fit import Fit, cfa, parse_model, sem
from connection.sem.partable import ParameterTable
from connection.sem.tests import lrt

__all__ = ["cfa", "sem", "Fit", "parse_model", "ParameterTable", "lrt"]
