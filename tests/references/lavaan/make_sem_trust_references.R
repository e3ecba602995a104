#!/usr/bin/env Rscript
# lavaan references for issue 11 (tests/test_sem_trust.py): model text that switches the mean
# structure on, and lavaan's behaviour on duplicate statements, self-regressions, FIML with an
# all-missing or a collinear column, and a malformed sample covariance matrix.
# Reads ../data/HolzingerSwineford1939.csv; writes sem_trust_*.params.csv / *.fit.json and
# sem_trust_behaviour.json beside this script.
# Usage: Rscript tests/references/lavaan/make_sem_trust_references.R   (lavaan 0.6.14, R 4.2)
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
here <- function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  normalizePath(dirname(f))
}
dout <- here()
hs <- read.csv(file.path(dout, "..", "data", "HolzingerSwineford1939.csv"), stringsAsFactors = FALSE)
versions <- list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")))
wjson <- function(x, file) {
  write_json(x, file.path(dout, file), auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null")
  cat("wrote", file, "\n")
}
run_case <- function(case, fit, model) {
  pe <- parameterEstimates(fit, standardized = TRUE, ci = TRUE, remove.nonfree = FALSE)
  write.csv(pe, file.path(dout, paste0("sem_trust_", case, ".params.csv")), row.names = FALSE, na = "")
  fm <- fitMeasures(fit)
  wjson(list(case = case, data = "data/HolzingerSwineford1939.csv", model = model,
             versions = versions, converged = lavInspect(fit, "converged"),
             meanstructure = lavInspect(fit, "meanstructure"),
             fit_measures = as.list(setNames(as.numeric(fm), names(fm)))),
        paste0("sem_trust_", case, ".fit.json"))
}
hs_model <- "visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9"

## (1) an explicit intercept switches the mean structure on (even with meanstructure = FALSE)
m <- paste0(hs_model, "\nx2 ~ 1")
run_case("hs_intercept", cfa(m, data = hs, meanstructure = FALSE), m)
m <- "f =~ x1 + x2 + x3\nx1 ~ 0*1"
run_case("fixed_intercept", cfa(m, data = hs), m)

## (2) what lavaan says (errors and warnings) on malformed input
outcome <- function(expr) {
  warns <- character()
  res <- withCallingHandlers(
    tryCatch({ force(expr); "fit" }, error = function(e) paste("ERROR:", conditionMessage(e))),
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(outcome = res, warnings = warns)
}
behaviour <- list()
texts <- list(
  dup_loading_conflict = "f =~ x1 + x2 + x3\nf =~ 0.5*x2",
  dup_variance_conflict = "f =~ x1 + x2 + x3\nx1 ~~ 0.2*x1\nx1 ~~ 0.9*x1",
  dup_loading_exact = "f =~ x1 + x2 + x3\nf =~ x2",
  dup_variance_exact = "f =~ x1 + x2 + x3\nx1 ~~ 0.2*x1\nx1 ~~ 0.2*x1",
  dup_covariance_reversed = "f =~ x1 + x2 + x3 + x4\nx1 ~~ x2\nx2 ~~ x1",
  self_regression_latent = "f =~ x1 + x2 + x3\nf ~ f",
  self_regression_observed = "f =~ x1 + x2 + x3\nx1 ~ x1")
for (nm in names(texts)) behaviour[[nm]] <- c(list(model = texts[[nm]]), outcome(cfa(texts[[nm]], data = hs)))
hs_na <- hs; hs_na$x3 <- NA
behaviour$fiml_all_missing_column <- c(list(model = "f =~ x1 + x2 + x3 (x3 all NA)"),
                                       outcome(cfa("f =~ x1 + x2 + x3", data = hs_na, missing = "ml")))
hs_col <- hs; hs_col$x4 <- hs_col$x1 + hs_col$x2
hs_col$x1[seq(1, 300, by = 10)] <- NA
behaviour$fiml_collinear <- c(list(model = "f =~ x1 + x2 + x3 + x4 (x4 = x1 + x2)"),
                              outcome(cfa("f =~ x1 + x2 + x3 + x4", data = hs_col, missing = "ml")))
S <- cov(hs[, c("x1", "x2", "x3")]); S[1, 2] <- S[1, 2] + 0.3
behaviour$sample_cov_asymmetric <- c(list(model = "f =~ x1 + x2 + x3 (S[1,2] + 0.3)"),
                                     outcome(cfa("f =~ x1 + x2 + x3", sample.cov = S, sample.nobs = 301)))
S <- cov(hs[, c("x1", "x2", "x3")]); S[2, 2] <- NA
behaviour$sample_cov_nan <- c(list(model = "f =~ x1 + x2 + x3 (S[2,2] NA)"),
                              outcome(cfa("f =~ x1 + x2 + x3", sample.cov = S, sample.nobs = 301)))
wjson(c(list(versions = versions), behaviour), "sem_trust_behaviour.json")
