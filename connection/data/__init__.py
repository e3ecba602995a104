"""The data layer: instruments (codebooks) and validated survey data.

:class:`Instrument` (constructs, items, scales, reverse keys, missing codes; read from and
written to codebook files) and :func:`read_survey` -> :class:`Survey` (CSV, TSV, Parquet, SPSS,
Stata, Qualtrics; validated against the instrument, reverse-coded, exclusions logged).
"""


from connection.data._instrument import Construct, Instrument, Item, Scale, Variable  # noqa: F401
from connection.data._survey import Labels, Survey, check_survey, read_survey  # noqa: F401

__all__ = ['Instrument', 'Construct', 'Item', 'Scale', 'Variable', 'read_survey', 'check_survey', 'Survey', 'Labels']
