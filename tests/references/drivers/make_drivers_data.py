"""Simulated survey for the latent drivers reference (tests/test_drivers_latent_reference.py).

Latent connection and satisfaction (corr .5) measured by 4 and 3 items, and a third latent driver
(features, 3 items) for the three-driver contrasts; two observed controls
(age, in years, and a 0/1 indicator) that correlate with both latent drivers and with each
other; the outcome depends on the latent drivers and on age. A model in which the controls
cannot covary with the latent drivers (lavaan's fixed.x default) misfits these data badly.

Run: cd tests/references/drivers && python make_drivers_data.py   (writes drivers_sim.csv)
"""

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261204)
n = 400
sat = rng.normal(size=n)
con = 0.5 * sat + np.sqrt(0.75) * rng.normal(size=n)
age_z = 0.4 * con + 0.3 * sat + np.sqrt(1 - 0.16 - 0.09 - 2 * 0.4 * 0.3 * 0.5) * rng.normal(size=n)
feat = 0.3 * con + 0.2 * sat + np.sqrt(1 - 0.09 - 0.04 - 2 * 0.3 * 0.2 * 0.5) * rng.normal(size=n)
female = (0.5 * con - 0.2 * age_z + rng.normal(size=n) > 0.3).astype(int)
advocacy = 0.45 * con + 0.15 * sat + 0.1 * feat - 0.25 * age_z + 0.7 * rng.normal(size=n)
df = pd.DataFrame({"advocacy": 4 + 1.2 * advocacy})
for j, lam in enumerate([0.8, 0.7, 0.75, 0.65]):
    df[f"ec{j + 1}"] = 4 + 1.3 * (lam * con + np.sqrt(1 - lam**2) * rng.normal(size=n))
for j, lam in enumerate([0.85, 0.8, 0.7]):
    df[f"sat{j + 1}"] = 5 + 1.1 * (lam * sat + np.sqrt(1 - lam**2) * rng.normal(size=n))
for j, lam in enumerate([0.8, 0.75, 0.7]):
    df[f"feat{j + 1}"] = 3 + 1.0 * (lam * feat + np.sqrt(1 - lam**2) * rng.normal(size=n))
df["age"] = 40 + 12 * age_z
df["female"] = female
df = df.round(4)
df.to_csv("drivers_sim.csv", index=False)
print(df.describe().round(3).to_string())
