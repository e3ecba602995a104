# Reference values for the ordinal (WLSMV, issue 14) and the weighted (sampling.weights, MLR,
# issue 15) latent version of connection.outcomes._drivers
# (tests/test_drivers_latent_ordinal.py, tests/test_drivers_latent_weighted.py).
#
# Data: drivers_ordinal_sim.csv and drivers_weighted_sim.csv (make_drivers_latent2_data.py).
# Models: what drivers(latent=..., ordered=...) and drivers(latent=..., weights=...) build:
#   the outcome regressed on latent connection and satisfaction (std.lv = TRUE), observed
#   controls covarying with the latent drivers, the contrast as a := parameter.
# Writes drivers_latent2_references.json: parameterEstimates (est, se, pvalue) with
# standardizedSolution's est.std and se (delta method) per row, and fitMeasures.
#
# Run: cd tests/references/drivers && Rscript make_drivers_latent2_references.R
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
do <- read.csv("drivers_ordinal_sim.csv")
dw <- read.csv("drivers_weighted_sim.csv")
meas <- "connection =~ ec1 + ec2 + ec3 + ec4
satisfaction =~ sat1 + sat2 + sat3"
reg <- "advocacy ~ drivers_b0*connection + drivers_b1*satisfaction
drivers_contrast_0_1 := drivers_b0 - drivers_b1"
regc <- "advocacy ~ drivers_b0*connection + drivers_b1*satisfaction + age
connection ~~ age
satisfaction ~~ age
drivers_contrast_0_1 := drivers_b0 - drivers_b1"
ord <- c("advocacy", "ec1", "ec2", "ec3", "ec4", "sat1", "sat2", "sat3")

fits <- list(
  wlsmv = sem(paste(meas, reg, sep = "\n"), data = do, ordered = ord, estimator = "WLSMV",
              std.lv = TRUE),
  ulsmv = sem(paste(meas, reg, sep = "\n"), data = do, ordered = ord, estimator = "ULSMV",
              std.lv = TRUE),
  weighted_mlr = sem(paste(meas, reg, sep = "\n"), data = dw, sampling.weights = "w",
                     estimator = "MLR", std.lv = TRUE, fixed.x = FALSE),
  weighted_mlr_control = sem(paste(meas, regc, sep = "\n"), data = dw, sampling.weights = "w",
                             estimator = "MLR", std.lv = TRUE, fixed.x = FALSE),
  unweighted_mlr_control = sem(paste(meas, regc, sep = "\n"), data = dw,
                               estimator = "MLR", std.lv = TRUE, fixed.x = FALSE)
)
measures <- c("npar", "chisq", "df", "cfi", "tli", "rmsea", "srmr", "cfi.robust",
              "rmsea.robust", "cfi.scaled", "rmsea.scaled", "chisq.scaled")
out <- list(lavaan_version = unbox(as.character(packageVersion("lavaan"))),
            r_version = unbox(R.version.string), models = list())
for (name in names(fits)) {
  fit <- fits[[name]]
  pe <- parameterEstimates(fit)
  std <- standardizedSolution(fit)
  stopifnot(all(pe$lhs == std$lhs), all(pe$op == std$op), all(pe$rhs == std$rhs))
  pe$std_all <- std$est.std
  pe$std_all_se <- std$se
  pe <- pe[, c("lhs", "op", "rhs", "label", "est", "se", "pvalue", "std_all", "std_all_se")]
  fm <- fitMeasures(fit)
  fm <- as.list(fm[intersect(measures, names(fm))])
  names(fm) <- gsub(".", "_", names(fm), fixed = TRUE)
  fm <- lapply(fm, function(v) unbox(unname(v)))
  out$models[[name]] <- list(estimator = unbox(lavInspect(fit, "options")$estimator),
                             n = unbox(lavInspect(fit, "nobs")),
                             converged = unbox(lavInspect(fit, "converged")),
                             estimates = pe, fit_measures = fm)
}
write_json(out, "drivers_latent2_references.json", digits = NA, pretty = TRUE, na = "null")
cat("wrote drivers_latent2_references.json\n")
