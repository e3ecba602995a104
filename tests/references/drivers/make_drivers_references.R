# Reference values for the latent version of connection.outcomes._drivers (tests/test_drivers_latent_reference.py).
#
# Fits, with lavaan, the models drivers(latent=..., controls=...) must reproduce on
# drivers_sim.csv (written by make_drivers_data.py in this folder):
#   * the outcome regressed on latent drivers and observed controls, with the controls free to
#     covary with every latent driver and with each other (explicit covariances, fixed.x = FALSE);
#   * for contrast: the same regression with lavaan's defaults (fixed.x = TRUE, no covariance
#     between a control and a latent driver), which forces those covariances to zero; and the
#     same with only fixed.x = FALSE, which does NOT free them (lavaan never adds ov.x ~~ lv.x).
# Writes drivers_latent_references.json: per model, parameterEstimates + std.all and fitMeasures.
#
# Run: cd tests/references/drivers && Rscript make_drivers_references.R
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
d <- read.csv("drivers_sim.csv")

meas2 <- "connection =~ ec1 + ec2 + ec3 + ec4
satisfaction =~ sat1 + sat2 + sat3"
meas3 <- paste(meas2, "features =~ feat1 + feat2 + feat3", sep = "\n")

models <- list(
  # two drivers, two controls, MLR: the model drivers() builds
  mlr_two_controls = list(estimator = "MLR", fixed.x = FALSE, model = paste(meas2,
    "advocacy ~ b0*connection + b1*satisfaction + age + female
     connection ~~ age + female
     satisfaction ~~ age + female
     age ~~ female
     connection_minus_satisfaction := b0 - b1", sep = "\n")),
  # two drivers, one control, ML
  ml_one_control = list(estimator = "ML", fixed.x = FALSE, model = paste(meas2,
    "advocacy ~ b0*connection + b1*satisfaction + age
     connection ~~ age
     satisfaction ~~ age
     connection_minus_satisfaction := b0 - b1", sep = "\n")),
  # three drivers, one control, MLR: every pair contrasted
  mlr_three_drivers = list(estimator = "MLR", fixed.x = FALSE, model = paste(meas3,
    "advocacy ~ b0*connection + b1*satisfaction + b2*features + age
     connection ~~ age
     satisfaction ~~ age
     features ~~ age
     connection_minus_satisfaction := b0 - b1
     connection_minus_features := b0 - b2
     satisfaction_minus_features := b1 - b2", sep = "\n")),
  # the old, wrong model: lavaan defaults, controls uncorrelated with the latent drivers
  naive_fixedx = list(estimator = "MLR", fixed.x = TRUE, model = paste(meas2,
    "advocacy ~ b0*connection + b1*satisfaction + age + female
     connection_minus_satisfaction := b0 - b1", sep = "\n")),
  # fixed.x = FALSE alone does not free the control ~~ latent covariances
  naive_randomx = list(estimator = "MLR", fixed.x = FALSE, model = paste(meas2,
    "advocacy ~ b0*connection + b1*satisfaction + age + female
     connection_minus_satisfaction := b0 - b1", sep = "\n"))
)

measures <- c("npar", "chisq", "df", "cfi", "tli", "rmsea", "srmr", "cfi.robust", "rmsea.robust",
              "chisq.scaled")
out <- list(lavaan_version = unbox(as.character(packageVersion("lavaan"))),
            r_version = unbox(R.version.string), data = unbox("drivers_sim.csv"),
            n = unbox(nrow(d)), models = list())
for (name in names(models)) {
  m <- models[[name]]
  fit <- sem(m$model, data = d, estimator = m$estimator, std.lv = TRUE, fixed.x = m$fixed.x)
  pe <- parameterEstimates(fit)
  std <- standardizedSolution(fit)
  pe$std_all <- std$est.std
  pe <- pe[, c("lhs", "op", "rhs", "label", "est", "se", "pvalue", "std_all")]
  fm <- fitMeasures(fit)
  fm <- as.list(fm[intersect(measures, names(fm))])
  names(fm) <- gsub(".", "_", names(fm), fixed = TRUE)
  fm <- lapply(fm, function(v) unbox(unname(v)))
  out$models[[name]] <- list(estimator = unbox(m$estimator), fixed_x = unbox(m$fixed.x),
                             model = unbox(m$model),
                             converged = unbox(lavInspect(fit, "converged")),
                             estimates = pe, fit_measures = fm)
}
write_json(out, "drivers_latent_references.json", digits = NA, pretty = TRUE, na = "null")
cat("wrote drivers_latent_references.json\n")
