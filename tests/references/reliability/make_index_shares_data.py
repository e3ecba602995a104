"""Writes index_shares_data.csv: 800 simulated respondents (five 1-5 items cut from a latent
normal, a 1-10 satisfaction item, a group and survey weights), their connection index (fitted by
WLSMV) and segment. make_index_shares_references.R reads it. Re-run from the repository root:
PYTHONPATH=. python tests/references/reliability/make_index_shares_data.py"""

from pathlib import Path

import numpy as np
import pandas as pd

from connection.measurement import ConnectionIndex, SegmentRule

HERE = Path(__file__).parent
LAM = np.array([0.85, 0.75, 0.65, 0.55, 0.70])
TH = np.array([-1.5, -0.5, 0.3, 1.1])


def simulate(n: int = 800, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    eta = rng.standard_normal(n)
    ystar = eta[:, None] * LAM + rng.standard_normal((n, 5)) * np.sqrt(1 - LAM**2)
    df = pd.DataFrame((1 + (ystar[:, :, None] > TH).sum(axis=2)).astype(float),
                      columns=[f"c{j}" for j in range(1, 6)])
    df["sat"] = np.clip(np.round(2 * df["c2"] + rng.normal(size=n)), 1, 10)
    df["g"] = rng.integers(1, 4, n)
    df["w"] = np.round(rng.uniform(0.4, 2.5, n), 4)
    return df


def index(df: pd.DataFrame) -> ConnectionIndex:
    rule = SegmentRule(connected_min=60, satisfaction=["sat"], satisfied_min=8,
                       differentiation=None)
    return ConnectionIndex({"f": [f"c{j}" for j in range(1, 6)]}, "f", item_range=(1, 5),
                           segments=rule, estimator="WLSMV").fit(df)


if __name__ == "__main__":
    df = simulate()
    seg = index(df).segment(df)
    df["segment"] = seg["segment"].astype(str)
    df.to_csv(HERE / "index_shares_data.csv", index=False)
