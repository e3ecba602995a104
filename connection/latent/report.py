"""The summary of a :class:`~connection.latent.Fit` as a :class:`connection._report.Report`.

One builder, :func:`fit_report`: the header (what was fitted, estimator, missing-data rule,
observations, convergence, admissibility, interval level), the admissibility flags (shown first
by the Report), the fit measures, and the parameter estimates in lavaan's blocks (latent
variables, regressions, covariances and variances, intercepts and means, defined parameters),
per group. Text, HTML and LaTeX are the Report's renderings of the same content.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connection._report import Report

__all__ = ["fit_report", "SECTIONS", "FIT_ROWS"]

SECTIONS = [("=~", "Latent variables"), ("~", "Regressions"),
            ("~~", "Covariances and variances"), ("~1", "Intercepts and means"),
            ("|", "Thresholds"), ("~*~", "Scales of the latent responses"),
            (":=", "Defined parameters")]
FIT_ROWS = [("chisq", "Chi-square"), ("df", "Degrees of freedom"), ("pvalue", "P-value"),
            ("chisq_scaled", "Chi-square (scaled, Yuan-Bentler)"),
            ("chisq_scaling_factor", "Scaling factor"), ("chisq_shift", "Shift parameter"),
            ("cfi", "CFI"), ("tli", "TLI"),
            ("cfi_robust", "Robust CFI"), ("tli_robust", "Robust TLI"), ("rmsea", "RMSEA"),
            ("rmsea_ci_lower", "RMSEA 90% CI lower"), ("rmsea_ci_upper", "RMSEA 90% CI upper"),
            ("rmsea_robust", "Robust RMSEA"), ("srmr", "SRMR"), ("aic", "AIC"), ("bic", "BIC"),
            ("logl", "Log-likelihood")]
_PARAM_COLUMNS = ["parameter", "est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_lv",
                  "std_all"]


def _header(fit) -> list[tuple[str, object]]:
    flags = fit.flags
    converged = (f"yes, after {fit.iterations} iterations" if fit.converged else
                 f"NO: DID NOT CONVERGE after {fit.iterations} iterations "
                 f"({fit.estimation.message})")
    if fit.n_groups > 1:
        observations = ", ".join(f"{lab} (n = {n})" for lab, n in
                                 zip(fit.group_labels, fit.nobs))
    else:
        observations = fit.ntotal
    weighted = fit.estimation.options.get("weights_label")
    return [("Estimator", fit.estimator), ("Missing", fit.missing),
            ("Observations", observations),
            *([("Sampling weights", f"{weighted} (normalised to sum to n)")] if weighted
              else []),
            ("Free parameters", int(fit.estimation.structure.npar)),
            ("Converged", converged),
            ("Admissible", "yes" if not flags else
             "NO (" + ", ".join(dict.fromkeys(f.code for f in flags)) + ")"),
            ("Interval level", f"{100 * fit.level:g}%")]


def fit_measures_frame(fit) -> pd.DataFrame:
    """The fit measures the summary shows: ``measure``, ``value``."""
    fm = fit.fit_measures
    shifted = "chisq_shift" in fm.index  # WLSMV/ULSMV: the scaled-shifted test
    rows = [(label.replace("Yuan-Bentler", "mean and variance adjusted") if shifted else label,
             float(fm[key])) for key, label in FIT_ROWS if key in fm.index]
    return pd.DataFrame(rows, columns=["measure", "value"])


def _parameter_name(lhs: str, op: str, rhs: str, label: str) -> str:
    if op == ":=":
        return f"{lhs} := {rhs}"
    name = f"{lhs} ~ 1" if op == "~1" else f"{lhs} {op} {rhs}"
    return f"{name} ({label})" if label else name


def parameter_blocks(fit):
    """``(group, title, frame)`` per group and lavaan block, frames with the columns
    ``parameter est se z pvalue ci_lower ci_upper std_lv std_all`` (fixed parameters show no
    standard error)."""
    est = fit.estimates
    for g in dict.fromkeys(est["group"]):
        sub = est[est["group"] == g]
        for op, title in SECTIONS:
            block = sub[sub["op"] == op]
            if not len(block):
                continue
            frame = block[_PARAM_COLUMNS[1:]].copy()
            fixed = (block["se"] <= 0).to_numpy() & (block["op"] != ":=").to_numpy()
            frame.loc[fixed, ["se", "ci_lower", "ci_upper"]] = np.nan
            frame.insert(0, "parameter", [_parameter_name(*r) for r in zip(
                block["lhs"], block["op"], block["rhs"], block["label"])])
            yield g, title, frame.reset_index(drop=True)


def fit_report(fit) -> Report:
    """The :class:`Report` of a fit (see the module docstring)."""
    kind = fit.estimation.options["kind"]
    groups = f", {fit.n_groups} groups" if fit.n_groups > 1 else ""
    report = Report(f"{kind.upper()} ({fit.estimator}){groups}", header=_header(fit),
                    flags=fit.flags, notes=list(fit.warnings))
    report.add_table(fit_measures_frame(fit), "Model fit")
    for g, title, frame in parameter_blocks(fit):
        caption = f"{title} (group {g})" if fit.n_groups > 1 and g != 0 else title
        report.add_table(frame, caption)
    return report
