"""Simulated surveys for the ordinal and the weighted latent drivers references (issues 14, 15;
tests/test_drivers_latent_ordinal.py and tests/test_drivers_latent_weighted.py).

``drivers_ordinal_sim.csv``: 600 respondents; latent connection (4 items) and satisfaction
(3 items), corr .5; a latent response for advocacy, 0.5 connection + 0.2 satisfaction + noise;
every item and the outcome cut at fixed thresholds into 5-point codes 1..5 (the study's
population model).

``drivers_weighted_sim.csv``: 500 respondents of continuous items (as drivers_sim.csv), a
control ``age`` correlated with the drivers, and a survey weight ``w`` that depends on
connection (over-represented high-connection respondents get smaller weights).

Run: cd tests/references/drivers && python make_drivers_latent2_data.py
"""

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261205)


def latent_pair(n):
    sat = rng.normal(size=n)
    con = 0.5 * sat + np.sqrt(0.75) * rng.normal(size=n)
    return con, sat


# ordinal
n = 600
con, sat = latent_pair(n)
cuts = np.array([-1.5, -0.5, 0.4, 1.3])
out = {}
ystar = 0.5 * con + 0.2 * sat + np.sqrt(1 - 0.25 - 0.04 - 2 * 0.5 * 0.2 * 0.5) * rng.normal(size=n)
out["advocacy"] = 1 + np.searchsorted(cuts, ystar)
for j, lam in enumerate([0.8, 0.7, 0.75, 0.65]):
    x = lam * con + np.sqrt(1 - lam**2) * rng.normal(size=n)
    out[f"ec{j + 1}"] = 1 + np.searchsorted(cuts + 0.1 * j, x)
for j, lam in enumerate([0.85, 0.8, 0.7]):
    x = lam * sat + np.sqrt(1 - lam**2) * rng.normal(size=n)
    out[f"sat{j + 1}"] = 1 + np.searchsorted(cuts - 0.1 * j, x)
pd.DataFrame(out).to_csv("drivers_ordinal_sim.csv", index=False)

# weighted (continuous)
n = 500
con, sat = latent_pair(n)
age_z = 0.3 * con + 0.2 * sat + np.sqrt(1 - 0.09 - 0.04 - 2 * 0.3 * 0.2 * 0.5) * rng.normal(size=n)
df = pd.DataFrame({"advocacy": 4 + 1.2 * (0.45 * con + 0.15 * sat - 0.2 * age_z
                                          + 0.7 * rng.normal(size=n))})
for j, lam in enumerate([0.8, 0.7, 0.75, 0.65]):
    df[f"ec{j + 1}"] = 4 + 1.3 * (lam * con + np.sqrt(1 - lam**2) * rng.normal(size=n))
for j, lam in enumerate([0.85, 0.8, 0.7]):
    df[f"sat{j + 1}"] = 5 + 1.1 * (lam * sat + np.sqrt(1 - lam**2) * rng.normal(size=n))
df["age"] = 40 + 12 * age_z
df["w"] = np.exp(-0.4 * con + 0.3 * rng.normal(size=n))
df = df.round(4)
df.to_csv("drivers_weighted_sim.csv", index=False)
