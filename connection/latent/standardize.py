"""ONE standardisation (lavaan's ``standardizedSolution``: ``std.lv`` and ``std.all``) for a
stack of solutions: the plan is built once per parameter table; :class:`connection.latent.fit.Fit`
applies it to its solution (a stack of one), the bootstrap to every replicate at once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["StandardizePlan", "standardize_plan"]


def _sds(imps):
    """Per group: total SDs of the observed (``ov``) and latent (``lat``) variables and the
    residual variances (``rov``, ``rlat``), each (B, k), from stacked implied matrices."""
    out = []
    for imp in imps:
        out.append({
            "ov": np.sqrt(np.clip(np.diagonal(imp["sigma"], axis1=1, axis2=2), 0, None)),
            "lat": np.sqrt(np.clip(np.diagonal(imp["C"], axis1=1, axis2=2), 0, None)),
            "rov": np.diagonal(imp["T"], axis1=1, axis2=2),
            "rlat": np.diagonal(imp["P"], axis1=1, axis2=2)})
    return out


class StandardizePlan:
    """``std_lv`` and ``std_all`` of every row of the model structure (``struct.row_index``
    order; defined parameters are evaluated by the caller from these)."""

    def __init__(self, struct, partable):
        frame = partable.frame.loc[struct.row_index]
        ov_pos = {v: i for i, v in enumerate(struct.ov_names)}
        eta_pos = {v: i for i, v in enumerate(struct.eta_names)}
        lvset = set(struct.lv_names)
        latent_level = lvset | set(struct.phantoms)

        def tot(v):  # total SD (std.all); std.lv uses the latent ones only (1 for observed)
            return ("lat", eta_pos[v]) if v in lvset else ("ov", ov_pos[v])

        def res(v):
            return ("rlat", eta_pos[v]) if v in latent_level else ("rov", ov_pos[v])

        self.rows = []
        for r, (lhs, op, rhs, g1) in enumerate(zip(frame["lhs"], frame["op"], frame["rhs"],
                                                   frame["group"])):
            g = int(g1) - 1
            if op == "=~":
                self.rows.append((r, g, "mul_div", tot(lhs), tot(rhs), False))
            elif op == "~":
                self.rows.append((r, g, "mul_div", tot(rhs), tot(lhs), False))
            elif op == "~~" and lhs == rhs:
                self.rows.append((r, g, "var", tot(lhs), None, False))
            elif op == "~~":
                self.rows.append((r, g, "cov", res(lhs), res(rhs),
                                  None if lhs in lvset and rhs in lvset else (tot(lhs), tot(rhs))))
            elif op == "~1":
                self.rows.append((r, g, "mean", tot(lhs), None, False))
        self.nrows = len(frame)

    def __call__(self, vals, imps, *, std_lv: bool = True):
        """``(std_lv, std_all)`` (each B x rows; ``std_lv`` None when not asked) for
        ``vals`` (B x rows) and per-group implied matrices stacked over B (dicts of
        ``sigma``, ``C``, ``T``, ``P``)."""
        sds = _sds(imps)
        b = vals.shape[0]
        one = np.ones(b)
        out_all = np.full(vals.shape, np.nan)
        out_lv = np.full(vals.shape, np.nan) if std_lv else None

        def lv(s, a):
            return s[a[0]][:, a[1]] if a[0] == "lat" else one

        with np.errstate(divide="ignore", invalid="ignore"):
            for r, g, kind, a, c, lv_pair in self.rows:
                s = sds[g]
                v = vals[:, r]
                if kind == "mul_div":
                    out_all[:, r] = v * s[a[0]][:, a[1]] / s[c[0]][:, c[1]]
                    if std_lv:
                        out_lv[:, r] = v * lv(s, a) / lv(s, c)
                elif kind == "var":
                    out_all[:, r] = v / s[a[0]][:, a[1]] ** 2
                    if std_lv:
                        out_lv[:, r] = v / lv(s, a) ** 2
                elif kind == "mean":
                    out_all[:, r] = v / s[a[0]][:, a[1]]
                    if std_lv:
                        out_lv[:, r] = v / lv(s, a)
                else:
                    ra, rb = s[a[0]][:, a[1]], s[c[0]][:, c[1]]
                    denom = np.where((ra > 0) & (rb > 0), np.sqrt(np.abs(ra * rb)), np.nan)
                    out_all[:, r] = v / denom
                    if std_lv:
                        if lv_pair is None:  # two latent variables: their correlation
                            out_lv[:, r] = v / denom
                        else:
                            out_lv[:, r] = v / (lv(s, lv_pair[0]) * lv(s, lv_pair[1]))
        return out_lv, out_all


def standardize_plan(struct, partable) -> StandardizePlan:
    """The plan for this table (built once, kept in the table's cache)."""
    plan = partable.cache.get("standardize_plan")
    if plan is None:
        plan = partable.cache["standardize_plan"] = StandardizePlan(struct, partable)
    return plan
