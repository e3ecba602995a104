"""Admissibility flags: how an inadmissible or doubtful solution travels with its numbers.

A flag is part of the result, not a console warning. The engine records every problem it finds
(non-convergence, a Heywood case, a non-positive-definite latent or residual covariance matrix,
an unidentified model) as a :class:`Flag` on the :class:`~connection.latent.Fit`
(``fit.flags``); every table computed from a fit carries them in its ``flags`` column (``""`` when
the solution is admissible, else :func:`format_flags` of the flags); a study copies them next to
the numbers it records (``numbers.json`` ``"_flags"`` and ``manifest.json`` ``"flags"``), and the
paper build refuses to cite a flagged number unless the study marked it as accepted.

Examples
--------
>>> f = Flag("heywood", "negative variance estimate: CUSL ~~ CUSL = -0.89", ("CUSL ~~ CUSL",))
>>> format_flags([f, Flag("not_converged", "the optimiser did not converge")])
'heywood: negative variance estimate: CUSL ~~ CUSL = -0.89; not_converged: the optimiser did not converge'
>>> format_flags([])
''
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Flag", "FLAG_CODES", "format_flags", "NOT_CONVERGED", "HEYWOOD", "LATENT_NOT_PD",
           "RESIDUAL_NOT_PD", "NOT_IDENTIFIED", "NEGATIVE_DF", "POOR_FIT", "OTHER"]

NOT_CONVERGED = "not_converged"      # the optimiser stopped before convergence
HEYWOOD = "heywood"                  # a negative variance estimate
LATENT_NOT_PD = "latent_not_pd"      # the latent covariance matrix is not positive definite
RESIDUAL_NOT_PD = "residual_not_pd"  # the residual covariance matrix (Theta) is not p.d.
NOT_IDENTIFIED = "not_identified"    # singular information matrix / negative df
NEGATIVE_DF = "negative_df"          # more free parameters than sample moments
POOR_FIT = "poor_fit"                # a fit so poor that the numbers should not be read as is
OTHER = "other"

FLAG_CODES = (NOT_CONVERGED, HEYWOOD, LATENT_NOT_PD, RESIDUAL_NOT_PD, NOT_IDENTIFIED,
              NEGATIVE_DF, POOR_FIT, OTHER)


@dataclass(frozen=True)
class Flag:
    """One problem with a solution.

    Attributes
    ----------
    code
        One of :data:`FLAG_CODES` (``"heywood"``, ``"not_converged"``, ...).
    message
        A sentence for a person: what is wrong and where.
    parameters
        The parameters concerned, as lavaan writes them (``"CUSL ~~ CUSL"``), if any.
    """

    code: str
    message: str
    parameters: tuple[str, ...] = ()

    def __post_init__(self):
        if self.code not in FLAG_CODES:
            raise ValueError(f"unknown flag code {self.code!r}; expected one of {FLAG_CODES}")

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def format_flags(flags: Iterable[Flag | str]) -> str:
    """The flags as one ``"; "``-joined string for a table's ``flags`` column ('' when none)."""
    seen: list[str] = []
    for f in flags:
        text = str(f)
        if text and text not in seen:
            seen.append(text)
    return "; ".join(seen)
