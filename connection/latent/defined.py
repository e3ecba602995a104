"""ONE evaluator of defined parameters (``name := expression`` in the model text), for a
stack of solutions: the estimates (with their delta-method Jacobian), the standardised
solutions and the bootstrap replicates all go through :class:`DefinedParameters`.
"""

from __future__ import annotations

import numpy as np

from connection.latent.syntax import evaluate_expression, parse_expression

__all__ = ["DefinedParameters", "defined_parameters"]

_ARITHMETIC = (ZeroDivisionError, ValueError, OverflowError)


class DefinedParameters:
    """The ``:=`` rows of a table, compiled once; evaluated from the values of the model
    structure's rows (``struct.row_index`` order), by label and by internal label."""

    def __init__(self, struct, partable):
        frame = partable.frame
        rows = frame.loc[struct.row_index]
        self.labels = rows["label"].to_numpy()
        self.plabels = rows["plabel"].to_numpy()
        self.rows = np.flatnonzero((frame["op"] == ":=").to_numpy())
        self.compiled = [(frame.at[r, "lhs"], parse_expression(frame.at[r, "rhs"])[0])
                         for r in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __call__(self, vals, *, errors: str = "raise") -> np.ndarray:
        """Defined values (B x n_defined) for row values ``vals`` (B x rows). ``errors``:
        ``"raise"`` (an estimate) or ``"nan"`` (a standardised value, a replicate)."""
        vals = np.atleast_2d(vals)
        out = np.full((len(vals), len(self.rows)), np.nan)
        for b, v in enumerate(vals):
            values = {}
            for lab, plab, x in zip(self.labels, self.plabels, v):
                if lab and lab not in values:
                    values[lab] = x
                values[plab] = x
            for k, (name, code) in enumerate(self.compiled):
                try:
                    values[name] = out[b, k] = evaluate_expression(code, values)
                except _ARITHMETIC:
                    if errors == "raise":
                        raise
                    values[name] = np.nan
        return out

    def with_jacobian(self, theta, row_values):
        """Values at ``theta`` and their Jacobian w.r.t. ``theta`` (central differences, for
        the delta method); ``row_values(theta)`` gives the structure's row values."""
        base = self(row_values(theta))[0]
        jac = np.zeros((len(base), len(theta)))
        for k in range(len(theta)):
            h = 1e-6 * max(1.0, abs(theta[k]))
            tp, tm = theta.copy(), theta.copy()
            tp[k] += h
            tm[k] -= h
            jac[:, k] = (self(row_values(tp))[0] - self(row_values(tm))[0]) / (2 * h)
        return base, jac


def defined_parameters(struct, partable) -> DefinedParameters:
    """The evaluator for this table (built once, kept in the table's cache)."""
    plan = partable.cache.get("defined_parameters")
    if plan is None:
        plan = partable.cache["defined_parameters"] = DefinedParameters(struct, partable)
    return plan
