"""Power against respondents per cell, each test's n for the target power marked (interpolated)."""

from _common import read

from connection.plots import studies

INPUTS = ["power_social_moms:tables/power.csv", "power_social_moms:tables/n80.csv"]


def make(paths):
    return studies.power_curve(read(paths, INPUTS[0]), n_target=read(paths, INPUTS[1]))
