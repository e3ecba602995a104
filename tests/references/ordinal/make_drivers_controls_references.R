# Reference values for drivers(latent=..., ordered=..., controls=...) (issue 14): the latent
# drivers model with observed continuous controls on ordinal items, as lavaan 0.6.14 fits it.
# Re-run from the repository root:
#   Rscript tests/references/ordinal/make_drivers_controls_references.R
# Data: tests/references/drivers/drivers_ordinal_sim.csv (5-point advocacy and items) with two
# controls added here (set.seed(1406)): age (years, related to the connection items) and tenure
# (years as a customer, related to age and satisfaction), written as drivers_controls_data.csv.
# (A 0/1 control is continuous for lavaan too, but its mean and variance scores are collinear:
# lavaan warns "trouble constructing W matrix" and uses a generalized inverse: not used.)
# Models: what drivers() builds: the outcome regressed on latent connection and satisfaction
# (std.lv = TRUE) and the controls, each control covarying with every latent driver and with
# the other controls, the contrast as a := parameter. Written this way no control is an
# exogenous covariate for lavaan (it appears in ~~ with a latent variable), so there is no
# ov.x and lavaan's conditional.x is FALSE: the controls are continuous variables among the
# ordinal ones (means, variances and covariances in wls.obs; muthen1984 statistics).
#   ordered_all: every item and the outcome ordinal, controls age and tenure (WLSMV);
#   outcome_continuous: the items ordinal, advocacy continuous, control age (WLSMV);
#   ulsmv_one: every item and the outcome ordinal, control age, ULSMV.
# Writes drivers_controls.json: per model parameterEstimates (est, se, pvalue) with
# standardizedSolution's est.std and se (delta method), fitMeasures, conditional.x, ov.x.
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
out <- "tests/references/ordinal"
d <- read.csv("tests/references/drivers/drivers_ordinal_sim.csv")
set.seed(1406)
ec <- scale(rowMeans(d[, c("ec1", "ec2", "ec3", "ec4")]))[, 1]
d$age <- round(40 + 10 * (0.3 * ec + sqrt(1 - 0.09) * rnorm(nrow(d))), 1)
sat <- scale(rowMeans(d[, c("sat1", "sat2", "sat3")]))[, 1]
d$tenure <- round(pmax(0.1, 5 + 2 * (0.3 * sat + 0.2 * (d$age - 40) / 10 + 0.9 * rnorm(nrow(d)))), 2)
write.csv(d, file.path(out, "drivers_controls_data.csv"), row.names = FALSE)

meas <- "connection =~ ec1 + ec2 + ec3 + ec4\nsatisfaction =~ sat1 + sat2 + sat3"
text <- function(controls) {
  lines <- c(meas, paste0("advocacy ~ ", paste(c("drivers_b0*connection", "drivers_b1*satisfaction",
                                                 controls), collapse = " + ")),
             paste0("connection ~~ ", paste(controls, collapse = " + ")),
             paste0("satisfaction ~~ ", paste(controls, collapse = " + ")))
  if (length(controls) > 1) {
    pairs <- combn(controls, 2)
    lines <- c(lines, paste(pairs[1, ], "~~", pairs[2, ]))
  }
  paste(c(lines, "drivers_contrast_0_1 := drivers_b0 - drivers_b1"), collapse = "\n")
}
items <- c("ec1", "ec2", "ec3", "ec4", "sat1", "sat2", "sat3")
specs <- list(
  ordered_all = list(controls = c("age", "tenure"), ordered = c("advocacy", items),
                     estimator = "WLSMV"),
  outcome_continuous = list(controls = "age", ordered = items, estimator = "WLSMV"),
  ulsmv_one = list(controls = "age", ordered = c("advocacy", items), estimator = "ULSMV"))
res <- list(lavaan_version = unbox(as.character(packageVersion("lavaan"))),
            r_version = unbox(R.version.string), models = list())
for (name in names(specs)) {
  s <- specs[[name]]
  model <- text(s$controls)
  fit <- sem(model, data = d, ordered = s$ordered, estimator = s$estimator, std.lv = TRUE)
  pe <- parameterEstimates(fit)
  std <- standardizedSolution(fit)
  stopifnot(all(pe$lhs == std$lhs), all(pe$op == std$op), all(pe$rhs == std$rhs))
  pe$std_all <- std$est.std
  pe$std_all_se <- std$se
  pe <- pe[, c("lhs", "op", "rhs", "label", "est", "se", "pvalue", "std_all", "std_all_se")]
  fm <- fitMeasures(fit)
  fm <- lapply(as.list(setNames(as.numeric(fm), gsub(".", "_", names(fm), fixed = TRUE))),
               function(v) unbox(if (is.finite(v)) v else NA))
  res$models[[name]] <- list(
    model = unbox(model), controls = s$controls, ordered = s$ordered,
    estimator = unbox(lavInspect(fit, "options")$estimator),
    conditional_x = unbox(lavInspect(fit, "options")$conditional.x),
    ov_x = lavNames(fit, "ov.x"), n = unbox(lavInspect(fit, "nobs")),
    converged = unbox(lavInspect(fit, "converged")), estimates = pe, fit_measures = fm)
}
write_json(res, file.path(out, "drivers_controls.json"), digits = NA, pretty = TRUE, na = "null")
