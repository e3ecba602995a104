"""The simulation layer: populations with known truth, calibrated to the published figures.

:func:`simulate` -> :class:`Simulation` (data, true latent scores, true parameters) from a
:class:`Population` (a TOML config); power and recovery helpers; :func:`monte_carlo` ->
:class:`MonteCarloResult` (replicates on any executor or a Dask client, identical results).
"""


from connection.simulation._montecarlo import MonteCarloResult, monte_carlo  # noqa: F401
from connection.simulation._population import (  # noqa: F401
    Population,
    Simulation,
    chisq_power,
    composite_scores,
    item_means,
    load_config,
    ols_moments,
    percent_at_or_above,
    recover,
    recovery_model,
    scalar_ncp,
    simulate,
    slope_difference_power,
    slope_power,
    true_structural_std_lv,
)

__all__ = ['simulate', 'Simulation', 'Population', 'load_config', 'recover', 'recovery_model', 'composite_scores', 'slope_power', 'slope_difference_power', 'chisq_power', 'scalar_ncp', 'true_structural_std_lv', 'percent_at_or_above', 'item_means', 'ols_moments', 'monte_carlo', 'MonteCarloResult']
