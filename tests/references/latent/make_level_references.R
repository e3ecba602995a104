#!/usr/bin/env Rscript
# lavaan's parameterEstimates(fit, level = ...) for intervals at levels other than 95% (issue 13:
# `level=` in cfa()/sem() and Fit.parameter_estimates(level=)).
# Reads ../data/HolzingerSwineford1939.csv; writes hs_levels.json beside this script.
# Usage: Rscript tests/references/latent/make_level_references.R   (R 4.2, lavaan 0.6.14)
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
here <- function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  normalizePath(dirname(f))
}
root <- here()
hs <- read.csv(file.path(root, "..", "data", "HolzingerSwineford1939.csv"), stringsAsFactors = FALSE)
model <- "visual  =~ x1 + a*x2 + b*x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
ab := a*b"
pe <- function(fit, level) {
  p <- parameterEstimates(fit, ci = TRUE, level = level, remove.nonfree = FALSE, remove.def = FALSE)
  list(level = level, lhs = p$lhs, op = p$op, rhs = p$rhs, group = p$group, est = p$est, se = p$se,
       ci_lower = p$ci.lower, ci_upper = p$ci.upper)
}
cases <- list()
fit <- cfa(model, data = hs)
cases$ml_90 <- c(list(estimator = "ML", grouping = NULL), pe(fit, 0.90))
cases$ml_99 <- c(list(estimator = "ML", grouping = NULL), pe(fit, 0.99))
fit <- cfa(model, data = hs, estimator = "MLR")
cases$mlr_80 <- c(list(estimator = "MLR", grouping = NULL), pe(fit, 0.80))
fit <- cfa(model, data = hs, group = "school", group.equal = "loadings")
cases$mg_metric_90 <- c(list(estimator = "ML", grouping = "school", group_equal = "loadings"), pe(fit, 0.90))
out <- list(versions = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan"))),
            data = "../data/HolzingerSwineford1939.csv", model = model, cases = cases)
write_json(out, file.path(root, "hs_levels.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE,
           na = "null", null = "null")
cat("wrote hs_levels.json\n")
