"""Build the Qualtrics CSV export fixtures used by tests/test_data.py.

Run from the repository root: ``python tests/data/make_qualtrics_fixtures.py``. The outputs are
committed; this script documents how they were made (no Qualtrics account or real responses
were used). Layout follows a Qualtrics "CSV" export (not the legacy format): UTF-8 with BOM,
CRLF line ends, three header rows (export tags, question text, ``{"ImportId": ...}`` tags),
then one row per response; ``Status`` 0 = IP Address (a real response), 1 = Survey Preview,
2 = Survey Test; ``DistributionChannel`` ``anonymous`` / ``preview`` / ``test``.

Files
-----
qualtrics_numeric.csv
    Export with "Use numeric values". 12 rows: rows 1-10 real (R_...01..10), row 11 a survey
    preview, row 12 a test response. Items of the default instrument's constructs
    connection, satisfaction and loyalty, with export tags set to the item ids, plus an
    instructed-response attention check ``attn`` ("select Somewhat agree" = 4; failed by row 3)
    and ``segment`` (social / other). Row 2 answers ec_parent with -98 (not applicable) and
    leaves sat_ideal blank.
qualtrics_choice_text.csv
    The same responses exported with "Use choice text" (answers as labels).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
META = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)",
        "Finished", "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName",
        "RecipientEmail", "ExternalReference", "LocationLatitude", "LocationLongitude",
        "DistributionChannel", "UserLanguage"]
META_TEXT = ["Start Date", "End Date", "Response Type", "IP Address", "Progress",
             "Duration (in seconds)", "Finished", "Recorded Date", "Response ID",
             "Recipient Last Name", "Recipient First Name", "Recipient Email",
             "External Data Reference", "Location Latitude", "Location Longitude",
             "Distribution Channel", "User Language"]
META_IMPORT = ["startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished",
               "recordedDate", "_recordId", "recipientLastName", "recipientFirstName",
               "recipientEmail", "externalDataReference", "locationLatitude",
               "locationLongitude", "distributionChannel", "userLanguage"]
CONNECTION = ["ec_belong", "ec_accomplish", "ec_goals", "ec_express", "ec_family", "ec_parent",
              "ec_closer", "ec_fitin"]
SATISFACTION = ["sat_overall", "sat_expect", "sat_ideal"]
LOYALTY = ["loy_stay", "loy_switch"]
AGREE = {1: "Strongly disagree", 2: "Somewhat disagree", 3: "Neither agree nor disagree",
         4: "Somewhat agree", 5: "Strongly agree", -98: "Not applicable"}


def responses() -> list[dict]:
    rng = np.random.default_rng(20261122)
    rows = []
    for k in range(12):
        social = k % 2 == 0
        levels = (3, 4, 5) if social else (1, 2, 3)
        row = {c: levels[(k // 2 + j) % 3] for j, c in enumerate(CONNECTION)}
        row |= {c: int(rng.integers(5, 11)) for c in SATISFACTION}
        row["loy_stay"] = int(rng.integers(2, 6))
        row["loy_switch"] = int(rng.integers(1, 5))
        row["attn"] = 4
        row["segment"] = "social" if social else "other"
        status, channel = 0, "anonymous"
        if k == 10:
            status, channel = 1, "preview"
        if k == 11:
            status, channel = 2, "test"
        minute = 10 + k
        row_meta = {
            "StartDate": f"2026-11-02 09:{minute:02d}:05", "EndDate": f"2026-11-02 09:{minute + 5:02d}:41",
            "Status": status, "IPAddress": "" if status else f"192.0.2.{k + 1}", "Progress": 100,
            "Duration (in seconds)": int(rng.integers(180, 600)), "Finished": 1,
            "RecordedDate": f"2026-11-02 09:{minute + 5:02d}:42",
            "ResponseId": f"R_fixture{k + 1:02d}", "RecipientLastName": "", "RecipientFirstName": "",
            "RecipientEmail": "", "ExternalReference": "", "LocationLatitude": "",
            "LocationLongitude": "", "DistributionChannel": channel, "UserLanguage": "EN",
        }
        rows.append(row_meta | row)
    rows[2]["attn"] = 2          # fails the instructed-response check
    rows[1]["ec_parent"] = -98   # not applicable
    rows[1]["sat_ideal"] = None  # skipped
    return rows


def question_text(col: str) -> str:
    if col in CONNECTION + LOYALTY:
        return f"How much do you agree or disagree with each statement about Acme? - {col}"
    if col in SATISFACTION:
        return f"Satisfaction with Acme - {col}"
    if col == "attn":
        return "To show you are reading, please select 'Somewhat agree'."
    return "Which group? - segment"


def write(path: Path, rows: list[dict], *, choice_text: bool) -> None:
    items = CONNECTION + SATISFACTION + LOYALTY + ["attn", "segment"]
    header = META + items
    text_row = META_TEXT + [question_text(c) for c in items]
    import_row = [json.dumps({"ImportId": i}, separators=(",", ":")) for i in META_IMPORT] + [
        json.dumps({"ImportId": f"QID{5 + n}_{n + 1}"}, separators=(",", ":"))
        for n in range(len(items))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([header, text_row, import_row])
    for row in rows:
        values = []
        for col in header:
            v = row[col]
            if choice_text and col == "Status":
                v = {0: "IP Address", 1: "Survey Preview", 2: "Survey Test"}[v]
            elif choice_text and (col in CONNECTION + LOYALTY or col == "attn") and v is not None:
                v = AGREE[v]
            values.append("" if v is None else v)
        writer.writerow(values)
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))


if __name__ == "__main__":
    rows = responses()
    write(HERE / "qualtrics_numeric.csv", rows, choice_text=False)
    write(HERE / "qualtrics_choice_text.csv", rows, choice_text=True)
    print("wrote", HERE / "qualtrics_numeric.csv", HERE / "qualtrics_choice_text.csv")
