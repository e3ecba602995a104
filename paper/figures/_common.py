"""What the paper's figure scripts share: nothing but reading tables.

Each ``paper/figures/NAME.py`` declares its study ``INPUTS`` and calls the one package function
that draws that figure (``connection.plots.studies``), the same function the study calls; the
drawing itself (labels, colours, legends, sizes) lives in the package, never here.
"""

from __future__ import annotations

import pandas as pd


def read(paths, key: str) -> pd.DataFrame:
    """The study table ``key`` ("study:tables/x.csv") among the build's checked input paths."""
    return pd.read_csv(paths[key])
