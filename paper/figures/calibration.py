"""Published vs reproduced percent agreeing in the banking cells (the study's calibration figure)."""

from _common import read

from connection.plots import studies

INPUTS = ["social_moms:tables/calibration.csv"]


def make(paths):
    return studies.calibration(read(paths, INPUTS[0]), category="banking")
