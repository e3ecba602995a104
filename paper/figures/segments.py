"""Where respondents sit on the connection pathway, by cell (the study's segments figure)."""

from _common import read

from connection.plots import studies

INPUTS = ["social_moms:tables/segments.csv"]


def make(paths):
    return studies.segments(read(paths, INPUTS[0]))
