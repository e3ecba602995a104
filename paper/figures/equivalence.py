"""Satisfaction, features and quality: connected minus not connected, against the margin."""

from _common import read

from connection.plots import studies

INPUTS = ["social_moms:tables/compare_connected.csv"]


def make(paths):
    return studies.equivalence(read(paths, INPUTS[0]))
