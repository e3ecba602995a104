"""Connection vs satisfaction as drivers of each outcome, by cell (observed and latent)."""

from _common import read

from connection.plots import studies

INPUTS = ["social_moms:tables/drivers_observed.csv", "social_moms:tables/drivers_latent.csv"]


def make(paths):
    return studies.drivers(read(paths, INPUTS[0]), read(paths, INPUTS[1]))
