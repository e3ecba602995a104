"""Two classic public datasets shipped for examples and doctests (lavaan's copies as CSV).

- ``holzinger_swineford()``: HolzingerSwineford1939, 301 pupils, tests x1-x9, ``school``.
- ``political_democracy()``: PoliticalDemocracy (Bollen 1989), 75 countries, x1-x3, y1-y8.

Examples
--------
>>> from connection.latent.datasets import holzinger_swineford
>>> holzinger_swineford().shape
(301, 15)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["holzinger_swineford", "political_democracy"]

_DIR = Path(__file__).with_name("_data")


def holzinger_swineford() -> pd.DataFrame:
    """HolzingerSwineford1939 as distributed with lavaan (301 rows)."""
    return pd.read_csv(_DIR / "HolzingerSwineford1939.csv")


def political_democracy() -> pd.DataFrame:
    """PoliticalDemocracy (Bollen 1989) as distributed with lavaan (75 rows)."""
    return pd.read_csv(_DIR / "PoliticalDemocracy.csv")
