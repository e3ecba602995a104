"""How many times more likely connected respondents are to agree (the study's risk-ratio figure)."""

from _common import read

from connection.plots import studies

INPUTS = ["social_moms:tables/compare_connected.csv"]


def make(paths):
    return studies.risk_ratios(read(paths, INPUTS[0]))
