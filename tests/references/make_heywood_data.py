"""Simulated item data with Heywood cases for tests/test_reliability_admissibility.py.

Writes reliability/heywood_sim.csv (beside this script): 300 rows, three 3-item constructs drawn
from a multivariate normal with the correlations below (seed 2026, values rounded to 3 decimals):

- ``hey``:   r(h1,h2) = r(h1,h3) = .80, r(h2,h3) = .35: a one-factor model needs a standardized
             loading of about 1.35 for h1, so its residual variance is negative (a Heywood case, as
             the PLS-SEM 'mobi' data's CUSL, residual variance -0.89) while omega stays below 1;
- ``hey2``:  r(k1,k2) = r(k1,k3) = .70, r(k2,k3) = .10: a large negative residual variance, so
             omega, CR and AVE exceed 1;
- ``good``:  r = .50 among g1-g3: an admissible construct.

Constructs correlate .25 (hey with good and hey2 with good) and .20 (hey with hey2).
Re-run: ``python tests/references/make_heywood_data.py`` then
``Rscript tests/references/make_heywood_references.R``.
"""

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "reliability"


def correlations() -> np.ndarray:
    s = np.full((9, 9), 0.0)
    blocks = {0: [[1, .8, .8], [.8, 1, .35], [.8, .35, 1]],
              3: [[1, .7, .7], [.7, 1, .1], [.7, .1, 1]],
              6: [[1, .5, .5], [.5, 1, .5], [.5, .5, 1]]}
    for start, b in blocks.items():
        s[start:start + 3, start:start + 3] = b
    s[0:3, 6:9] = s[6:9, 0:3] = .25
    s[3:6, 6:9] = s[6:9, 3:6] = .25
    s[0:3, 3:6] = s[3:6, 0:3] = .20
    return s


def main() -> None:
    s = correlations()
    assert np.linalg.eigvalsh(s).min() > 0
    rng = np.random.default_rng(2026)
    x = rng.multivariate_normal(np.zeros(9), s, size=300)
    cols = ["h1", "h2", "h3", "k1", "k2", "k3", "g1", "g2", "g3"]
    OUT.mkdir(exist_ok=True)
    pd.DataFrame(np.round(x, 3), columns=cols).to_csv(OUT / "heywood_sim.csv", index=False)
    print("wrote", OUT / "heywood_sim.csv")


if __name__ == "__main__":
    main()
