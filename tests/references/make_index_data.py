"""Write index/attachment_sim.csv: 400 simulated answers (1-7) to the default instrument's ten
attachment adjectives from a second-order factor model (facets affection, passion, bonding).
Input of make_index_references.R. Run from tests/references: python make_index_data.py"""

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261122)
n = 400
g = rng.normal(size=n)
facets = {"affection": (0.8, ["att_affectionate", "att_friendly", "att_loved", "att_peaceful"]),
          "passion": (0.85, ["att_passionate", "att_delighted", "att_captivated"]),
          "bonding": (0.75, ["att_connected", "att_bonded", "att_attached"])}
cols = {}
for _name, (gl, items) in facets.items():
    f = gl * g + np.sqrt(1 - gl**2) * rng.normal(size=n)
    for k, item in enumerate(items):
        lam = [0.8, 0.7, 0.75, 0.65][k]
        x = lam * f + np.sqrt(1 - lam**2) * rng.normal(size=n)
        cols[item] = np.clip(np.round(4 + 1.3 * x), 1, 7).astype(int)
pd.DataFrame(cols).to_csv("index/attachment_sim.csv", index=False)
