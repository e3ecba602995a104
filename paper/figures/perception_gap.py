"""What consumers say vs what marketers believe (the perception-gap study's dumbbell figure).

Drawn exactly as the study draws it: the study's own row selection and note
(``studies/perception_gap.py``: ``dumbbell_rows``, ``figure_note``) and the package's figure
function :func:`connection.plots.context.gap_dumbbell`, from the tables the study wrote; the
configuration is the study's (the build checks it against the run's manifest).
"""

import importlib.util
from pathlib import Path

from _common import read

from connection.plots.context import gap_dumbbell

INPUTS = ["perception_gap:tables/reason_gaps.csv", "perception_gap:tables/gaps.csv",
          "perception_gap:tables/rank_orders.csv"]
STUDY = Path(__file__).resolve().parents[2] / "studies" / "perception_gap.py"


def _study():
    spec = importlib.util.spec_from_file_location("perception_gap_study", STUDY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make(paths):
    study = _study()
    config = study.read_config(study.DEFAULT_CONFIG)
    spec = config.get("reasons", {})
    reasons, gaps, ranks = (read(paths, key) for key in INPUTS)
    shown = study.dumbbell_rows(reasons, gaps, spec)
    return gap_dumbbell(shown, level=float(config["study"]["level"]),
                        note=study.figure_note(reasons, ranks, spec))
