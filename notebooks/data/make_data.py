"""Make the small survey files used by notebooks/03_bring_your_own_survey.ipynb.

Run from the repository root: ``python notebooks/data/make_data.py``. The outputs are committed;
this script documents how they were made. The responses are simulated from the social-moms
population model (banking cells, seed 2026), so no real respondent is in them.

acme_qualtrics.csv
    A Qualtrics "CSV" export with "Use numeric values": UTF-8 with BOM, CRLF line ends, three
    header rows (export tags, question text, ImportId tags). Items carry Qualtrics' default
    export tags (Q1_1 ... Q6_2), not the instrument's item ids. Two survey-preview rows
    (Status 1), an instructed-response attention check ``attn`` ("select Somewhat agree" = 4)
    that a few respondents fail, a segment question (1 = uses social media for brands,
    2 = does not), some skipped answers and some "prefer not to say" codes (-99).
acme_survey.sav
    The same respondents as an SPSS file: item ids as variable names, value labels on every
    item and on ``segment``, -99 declared as a user-missing value.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONSTRUCTS = ["connection", "satisfaction", "features", "quality", "advocacy", "loyalty"]
N = 320


def responses() -> tuple[pd.DataFrame, dict[str, str]]:
    sys.path.insert(0, str(ROOT))
    from connection import instruments
    from connection.simulation._population import simulate

    inst = instruments.default()
    sim = simulate(ROOT / "studies" / "social_moms.toml", n=2 * N, seed=2026)
    data = sim.data[sim.data["category"] == "banking"].head(N).reset_index(drop=True)
    items = inst.item_ids(CONSTRUCTS)
    frame = data[items].astype(float)
    rng = np.random.default_rng(2026)
    # a few skipped answers and "prefer not to say" codes
    for col in items:
        frame.loc[rng.random(N) < 0.01, col] = np.nan
        frame.loc[rng.random(N) < 0.005, col] = -99
    frame.insert(0, "segment", np.where(data["group"] == "social_media_moms", 1, 2))
    attn = np.full(N, 4)
    attn[rng.choice(N, size=7, replace=False)] = rng.choice([1, 2, 5], size=7)
    frame["attn"] = attn
    frame.insert(0, "ResponseId", [f"R_{k:05d}" for k in range(1, N + 1)])
    # Qualtrics names the k-th item of the q-th block Q{q}_{k}
    tags = {}
    for q, construct in enumerate(CONSTRUCTS, start=1):
        for k, item in enumerate(inst.item_ids(construct), start=1):
            tags[item] = f"Q{q}_{k}"
    return frame, tags


def write_qualtrics(frame: pd.DataFrame, tags: dict[str, str], path: Path) -> None:
    from connection import instruments

    inst = instruments.default()
    meta = ["StartDate", "EndDate", "Status", "Progress", "Duration (in seconds)", "Finished",
            "RecordedDate", "ResponseId", "DistributionChannel", "UserLanguage"]
    meta_text = ["Start Date", "End Date", "Response Type", "Progress", "Duration (in seconds)",
                 "Finished", "Recorded Date", "Response ID", "Distribution Channel",
                 "User Language"]
    items = list(tags)
    header = meta + ["segment"] + [tags[i] for i in items] + ["attn"]
    text = meta_text + ["Do you use social media to follow brands? (1 = yes, 2 = no)"] + [
        f"{inst.items[i].text(brand='Acme Bank', category='bank')}" for i in items] + [
        "To show you are reading, please select 'Somewhat agree'."]
    imports = [json.dumps({"ImportId": m}, separators=(",", ":")) for m in meta] + [
        json.dumps({"ImportId": f"QID{n}"}, separators=(",", ":"))
        for n in range(1, len(items) + 3)]
    rows = []
    for k, rec in frame.iterrows():
        status = 1 if k in (5, 150) else 0  # two survey previews
        values = {"StartDate": f"2026-11-02 09:{k % 60:02d}:05",
                  "EndDate": f"2026-11-02 10:{k % 60:02d}:41", "Status": status, "Progress": 100,
                  "Duration (in seconds)": 240 + (k * 37) % 400, "Finished": 1,
                  "RecordedDate": f"2026-11-02 10:{k % 60:02d}:42",
                  "ResponseId": rec["ResponseId"],
                  "DistributionChannel": "preview" if status else "anonymous",
                  "UserLanguage": "EN", "segment": int(rec["segment"]), "attn": int(rec["attn"])}
        for item in items:
            v = rec[item]
            values[tags[item]] = "" if pd.isna(v) else int(v)
        rows.append([values[c] if c in values else values[meta[meta.index(c)]] for c in
                     [*meta, "segment"]] + [values[tags[i]] for i in items] + [values["attn"]])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([header, text, imports, *rows])
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))


def write_sav(frame: pd.DataFrame, path: Path) -> None:
    import pyreadstat

    from connection import instruments

    inst = instruments.default()
    data = frame.drop(columns=["attn"]).rename(columns={"ResponseId": "respondent_id"})
    labels = {"segment": {1: "uses social media for brands", 2: "does not"}}
    missing = {}
    for item in inst.item_ids(CONSTRUCTS):
        scale = inst.items[item].scale
        labels[item] = {**{int(k): str(v) for k, v in (scale.labels or {}).items()},
                        -99: "prefer not to say"}
        missing[item] = [-99]
    pyreadstat.write_sav(data, path, variable_value_labels=labels, missing_ranges=missing,
                         column_labels={i: inst.items[i].text(brand="Acme Bank", category="bank")
                                        for i in inst.item_ids(CONSTRUCTS)})


if __name__ == "__main__":
    frame, tags = responses()
    write_qualtrics(frame, tags, HERE / "acme_qualtrics.csv")
    write_sav(frame, HERE / "acme_survey.sav")
    print("wrote", HERE / "acme_qualtrics.csv", HERE / "acme_survey.sav")
