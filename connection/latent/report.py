"""Text, HTML and LaTeX summaries of a :class:`~connection.latent.Fit` (lavaan-like layout)."""

from __future__ import annotations

import html

import numpy as np

__all__ = ["summary_text", "summary_html", "summary_latex"]

_SECTIONS = [("=~", "Latent variables"), ("~", "Regressions"), ("~~", "Covariances and variances"),
             ("~1", "Intercepts and means"), (":=", "Defined parameters")]
_FIT_ROWS = [("chisq", "Chi-square"), ("df", "Degrees of freedom"), ("pvalue", "P-value"),
             ("chisq_scaled", "Chi-square (scaled, Yuan-Bentler)"),
             ("chisq_scaling_factor", "Scaling factor"), ("cfi", "CFI"), ("tli", "TLI"),
             ("cfi_robust", "Robust CFI"), ("tli_robust", "Robust TLI"), ("rmsea", "RMSEA"),
             ("rmsea_ci_lower", "RMSEA 90% CI lower"), ("rmsea_ci_upper", "RMSEA 90% CI upper"),
             ("rmsea_robust", "Robust RMSEA"), ("srmr", "SRMR"), ("aic", "AIC"), ("bic", "BIC"),
             ("logl", "Log-likelihood")]


def _header(fit):
    opts = fit.estimation.options
    lines = [
        f"connection.latent {opts['kind']}() {'converged' if fit.converged else 'DID NOT CONVERGE'}"
        f" after {fit.iterations} iterations",
        f"Estimator: {fit.estimator}   Missing: {fit.missing}   Free parameters: "
        f"{fit.estimation.structure.npar}",
    ]
    flags = getattr(fit, "flags", ())
    lines.append("Admissible: yes" if not flags else
                 "Admissible: NO (" + ", ".join(dict.fromkeys(f.code for f in flags)) + ")")
    if fit.n_groups > 1:
        lines.append("Groups: " + ", ".join(f"{lab} (n = {n})" for lab, n in
                                             zip(fit.group_labels, fit.nobs)))
    else:
        lines.append(f"Observations used: {fit.ntotal}")
    return lines


def _fit_rows(fit):
    fm = fit.fit_measures
    return [(label, fm[key]) for key, label in _FIT_ROWS if key in fm.index]


def _param_blocks(fit):
    est = fit.estimates
    groups = list(dict.fromkeys(est["group"]))
    for g in groups:
        sub = est[est["group"] == g]
        for op, title in _SECTIONS:
            block = sub[sub["op"] == op]
            if len(block):
                yield g, title, block


def _fmt(v, width=9, digits=3):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return " " * width
    return f"{v:{width}.{digits}f}"


def summary_text(fit) -> str:
    out = _header(fit)
    out.append("")
    out.append("Model fit")
    for label, value in _fit_rows(fit):
        out.append(f"  {label:<36}{value:>12.3f}")
    flags = getattr(fit, "flags", ())
    if flags:
        out.append("")
        out.append("Flags (the solution is not admissible as it stands)")
        out.extend(f"  - {f}" for f in flags)
    if fit.warnings:
        out.append("")
        out.append("Warnings")
        out.extend(f"  - {w}" for w in fit.warnings)
    current = None
    for g, title, block in _param_blocks(fit):
        if fit.n_groups > 1 and g != current:
            out.append("")
            out.append(f"Group {g}")
            current = g
        out.append("")
        out.append(f"{title}:")
        out.append(f"  {'':<28}{'Estimate':>9}{'Std.Err':>9}{'z-value':>9}{'P(>|z|)':>9}"
                   f"{'Std.lv':>9}{'Std.all':>9}")
        for r in block.itertuples():
            name = f"{r.lhs} {r.op} {r.rhs}".strip() if r.op != ":=" else f"{r.lhs} := {r.rhs}"
            if r.label and r.op != ":=":
                name += f" ({r.label})"
            se = r.se if r.se > 0 or r.op == ":=" else np.nan
            out.append(f"  {name[:28]:<28}{_fmt(r.est)}{_fmt(se)}{_fmt(r.z)}{_fmt(r.pvalue)}"
                       f"{_fmt(r.std_lv)}{_fmt(r.std_all)}")
    return "\n".join(out)


def summary_html(fit) -> str:
    parts = ["<div class='connection-sem-fit'>"]
    parts.append("<p>" + "<br>".join(html.escape(x) for x in _header(fit)) + "</p>")
    parts.append("<table><thead><tr><th>Fit measure</th><th>Value</th></tr></thead><tbody>")
    for label, value in _fit_rows(fit):
        parts.append(f"<tr><td>{html.escape(label)}</td><td>{value:.3f}</td></tr>")
    parts.append("</tbody></table>")
    flags = getattr(fit, "flags", ())
    if flags:
        parts.append("<p><strong>Flags</strong> (the solution is not admissible as it stands)"
                     "</p><ul>" + "".join(f"<li>{html.escape(str(f))}</li>" for f in flags)
                     + "</ul>")
    if fit.warnings:
        parts.append("<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in fit.warnings)
                     + "</ul>")
    cols = ["lhs", "op", "rhs", "label", "est", "se", "z", "pvalue", "std_lv", "std_all"]
    if fit.n_groups > 1:
        cols.insert(3, "group")
    parts.append(fit.estimates[cols].to_html(index=False, float_format=lambda v: f"{v:.3f}",
                                             na_rep=""))
    parts.append("</div>")
    return "\n".join(parts)


def summary_latex(fit) -> str:
    """A LaTeX tabular of the parameter estimates followed by the main fit measures."""

    def esc(text):
        return (str(text).replace("\\", r"\textbackslash{}").replace("_", r"\_")
                .replace("~", r"\textasciitilde{}").replace("&", r"\&").replace("%", r"\%"))

    lines = [r"\begin{tabular}{lrrrrr}", r"\hline",
             r"Parameter & Estimate & SE & $z$ & $p$ & Std.all \\", r"\hline"]
    for g, title, block in _param_blocks(fit):
        head = f"{title}" + (f" (group {g})" if fit.n_groups > 1 else "")
        lines.append(r"\multicolumn{6}{l}{\emph{" + esc(head) + r"}} \\")
        for r in block.itertuples():
            name = f"{r.lhs} {r.op} {r.rhs}".strip() if r.op != ":=" else f"{r.lhs} := {r.rhs}"
            vals = [r.est, r.se if r.se > 0 or r.op == ":=" else np.nan, r.z, r.pvalue,
                    r.std_all]
            cells = ["" if not np.isfinite(v) else f"{v:.3f}" for v in vals]
            lines.append(esc(name) + " & " + " & ".join(cells) + r" \\")
    lines.append(r"\hline")
    for label, value in _fit_rows(fit):
        lines.append(r"\multicolumn{5}{l}{" + esc(label) + "} & " + f"{value:.3f}" + r" \\")
    lines.append(r"\hline")
    for f in getattr(fit, "flags", ()):
        lines.append(r"\multicolumn{6}{l}{Flag: " + esc(f) + r"} \\")
    lines.append(r"\end{tabular}")
    return "\n".join(lines)
