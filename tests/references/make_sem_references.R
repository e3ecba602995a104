#!/usr/bin/env Rscript
# Extra lavaan references for the sem engine (connection/sem), beyond ../shared/refdata.
# Reads data/*.csv beside this script; writes lavaan/sem_<case>.* and data/HolzingerSwineford1939_missing.csv.
# Usage: Rscript tests/references/make_sem_references.R
#   (Debian r-base-core r-cran-lavaan r-cran-jsonlite; lavaan 0.6.14 at the time of writing)
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
here <- function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  normalizePath(dirname(f))
}
root <- here()
din <- file.path(root, "data"); dout <- file.path(root, "lavaan")
rd <- function(name) read.csv(file.path(din, paste0(name, ".csv")), stringsAsFactors = FALSE)
versions <- list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")))
wjson <- function(x, file) {
  write_json(x, file.path(dout, file), auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null")
  cat("wrote", file, "\n")
}
wcsv <- function(df, file) { write.csv(df, file.path(dout, file), row.names = FALSE, na = ""); cat("wrote", file, "\n") }
param_table <- function(fit) {
  pe <- parameterEstimates(fit, standardized = TRUE, ci = TRUE, level = 0.95,
                           remove.nonfree = FALSE, remove.def = FALSE)
  pe
}
run_case <- function(case, fit, model, data_file, extra = list()) {
  wcsv(param_table(fit), paste0("sem_", case, ".params.csv"))
  fm <- fitMeasures(fit)
  wjson(c(list(case = case, data = data_file, model = model, versions = versions,
               converged = lavInspect(fit, "converged"),
               nobs = as.list(lavInspect(fit, "nobs")),
               group_labels = if (lavInspect(fit, "ngroups") > 1) lavInspect(fit, "group.label") else NULL,
               options = lavInspect(fit, "options")[c("estimator", "se", "test", "information", "missing", "meanstructure")],
               fit_measures = as.list(setNames(as.numeric(fm), names(fm)))), extra),
        paste0("sem_", case, ".fit.json"))
}

hs <- rd("HolzingerSwineford1939")
hs_model <- "visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9"

## (1) FIML: delete values by a fixed rule (row i, variable j = 1..9): (7 i + 13 j) %% 23 == 0,
##     and x1 also where (i %% 17) == 0; write the CSV that the Python tests read.
hsm <- hs
for (j in 1:9) {
  v <- paste0("x", j)
  i <- seq_len(nrow(hsm))
  hsm[[v]][((7 * i + 13 * j) %% 23) == 0] <- NA
}
hsm$x1[(seq_len(nrow(hsm)) %% 17) == 0] <- NA
write.csv(hsm, file.path(din, "HolzingerSwineford1939_missing.csv"), row.names = FALSE, na = "")
cat("wrote data/HolzingerSwineford1939_missing.csv\n")
fit <- cfa(hs_model, data = hsm, missing = "ml")
run_case("hs_fiml_ml", fit, hs_model, "data/HolzingerSwineford1939_missing.csv",
         list(rule = "x_j missing where (7*row + 13*j) %% 23 == 0 (row 1-based); x1 also where row %% 17 == 0"))
fit <- cfa(hs_model, data = hsm, missing = "ml", estimator = "MLR")
run_case("hs_fiml_mlr", fit, hs_model, "data/HolzingerSwineford1939_missing.csv")
fit <- cfa(hs_model, data = hsm, missing = "ml", group = "school", group.equal = c("loadings", "intercepts"))
run_case("hs_fiml_mg_scalar", fit, hs_model, "data/HolzingerSwineford1939_missing.csv")
fit <- cfa(hs_model, data = hsm)  # listwise
run_case("hs_listwise_ml", fit, hs_model, "data/HolzingerSwineford1939_missing.csv")

## (2) multi-group MLR
for (nm in c("configural", "scalar")) {
  fit <- if (nm == "scalar") {
    cfa(hs_model, data = hs, group = "school", group.equal = c("loadings", "intercepts"), estimator = "MLR")
  } else cfa(hs_model, data = hs, group = "school", estimator = "MLR")
  run_case(paste0("hs_mg_mlr_", nm), fit, hs_model, "data/HolzingerSwineford1939.csv")
}

## (3) modification indices, standardised latent variables
fit <- cfa(hs_model, data = hs)
mi <- modindices(fit)
wcsv(mi[, c("lhs", "op", "rhs", "mi", "epc", "sepc.lv", "sepc.all")], "sem_hs_modindices.csv")
fit <- cfa(hs_model, data = hs, std.lv = TRUE)
run_case("hs_cfa_stdlv", fit, hs_model, "data/HolzingerSwineford1939.csv")

## (4) labels, defined parameters (indirect effect), equality by shared label
pd <- rd("PoliticalDemocracy")
pd_med <- "ind60 =~ x1 + x2 + x3
dem60 =~ y1 + a1*y2 + b1*y3 + c1*y4
dem65 =~ y5 + a1*y6 + b1*y7 + c1*y8
dem60 ~ a*ind60
dem65 ~ c*ind60 + b*dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
indirect := a*b
total := c + a*b"
fit <- sem(pd_med, data = pd)
run_case("poldem_defined", fit, pd_med, "data/PoliticalDemocracy.csv")

## (5) per-group modifiers c(...), group.partial, more group.equal types
mg_mod <- "visual  =~ x1 + c(v2, v2)*x2 + c(NA, 0.6)*x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
x1 ~~ c(r1, r1)*x1"
fit <- cfa(mg_mod, data = hs, group = "school")
run_case("hs_mg_modifiers", fit, mg_mod, "data/HolzingerSwineford1939.csv")
fit <- cfa(hs_model, data = hs, group = "school", group.equal = c("loadings", "intercepts"),
           group.partial = c("x3~1", "x7~1", "visual=~x2"))
run_case("hs_mg_partial", fit, hs_model, "data/HolzingerSwineford1939.csv")
fit <- cfa(hs_model, data = hs, group = "school",
           group.equal = c("loadings", "intercepts", "residuals", "lv.variances", "lv.covariances", "means"))
run_case("hs_mg_strict_all", fit, hs_model, "data/HolzingerSwineford1939.csv")
sc <- lavTestScore(cfa(hs_model, data = hs, group = "school", group.equal = c("loadings", "intercepts")))
wcsv(sc$uni, "sem_hs_mg_scalar_score_uni.csv")

## (6) observed covariates in a regression (fixed.x) and an observed outcome
reg_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ ageyr + sex
x9 ~ visual + textual"
fit <- sem(reg_model, data = hs)
run_case("hs_regression_fixedx", fit, reg_model, "data/HolzingerSwineford1939.csv")

## (7) factor scores under a mean structure (multi-group scalar)
fit <- cfa(hs_model, data = hs, group = "school", group.equal = c("loadings", "intercepts"))
fs <- lavPredict(fit, method = "regression")
fsb <- lavPredict(fit, method = "Bartlett")
out <- do.call(rbind, lapply(seq_along(fs), function(g) data.frame(group = lavInspect(fit, "group.label")[g], as.data.frame(fs[[g]]))))
wcsv(out, "sem_hs_mg_scalar_scores_regression.csv")
out <- do.call(rbind, lapply(seq_along(fsb), function(g) data.frame(group = lavInspect(fit, "group.label")[g], as.data.frame(fsb[[g]]))))
wcsv(out, "sem_hs_mg_scalar_scores_bartlett.csv")

## (8) MLR scaled LRT (Satorra-Bentler 2001) between configural and scalar
f1 <- cfa(hs_model, data = hs, group = "school", estimator = "MLR")
f2 <- cfa(hs_model, data = hs, group = "school", estimator = "MLR", group.equal = c("loadings", "intercepts"))
lrt <- lavTestLRT(f1, f2)
wcsv(data.frame(model = c("configural", "scalar"), as.data.frame(lrt), check.names = FALSE, row.names = NULL),
     "sem_hs_mg_mlr_lrt.csv")
## (9) FIML with an observed covariate (fixed.x: likelihood conditional on x) and groups + x
fx_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ ageyr
textual ~ visual + ageyr"
fit <- sem(fx_model, data = hsm, missing = "ml")
run_case("hs_fiml_fixedx", fit, fx_model, "data/HolzingerSwineford1939_missing.csv")
fit <- sem(fx_model, data = hs, group = "school", group.equal = c("loadings", "intercepts"))
run_case("hs_mg_fixedx", fit, fx_model, "data/HolzingerSwineford1939.csv")
fit <- sem(fx_model, data = hs, estimator = "MLR")
run_case("hs_mlr_fixedx", fit, fx_model, "data/HolzingerSwineford1939.csv")

## (10) modification indices and score tests under FIML
fit <- cfa(hs_model, data = hsm, missing = "ml")
mi <- modindices(fit)
wcsv(mi[, c("lhs", "op", "rhs", "mi", "epc", "sepc.lv", "sepc.all")], "sem_hs_fiml_modindices.csv")
fit <- cfa(hs_model, data = hsm, missing = "ml", group = "school", group.equal = c("loadings", "intercepts"))
wcsv(lavTestScore(fit)$uni, "sem_hs_fiml_mg_scalar_score_uni.csv")
## (11) residuals (resid) under scalar invariance, both groups
fit <- cfa(hs_model, data = hs, group = "school", group.equal = c("loadings", "intercepts"))
for (type in c("raw", "cor.bollen", "cor.bentler")) {
  r <- resid(fit, type = type)
  out <- do.call(rbind, lapply(seq_along(r), function(g) {
    cv <- r[[g]]$cov
    idx <- which(lower.tri(cv, diag = TRUE), arr.ind = TRUE)
    rbind(data.frame(group = names(r)[g], kind = "cov", row = rownames(cv)[idx[, 1]],
                     col = colnames(cv)[idx[, 2]], value = cv[idx]),
          data.frame(group = names(r)[g], kind = "mean", row = names(r[[g]]$mean), col = "",
                     value = as.numeric(r[[g]]$mean)))
  }))
  wcsv(out, paste0("sem_hs_mg_scalar_resid_", gsub(".", "_", type, fixed = TRUE), ".csv"))
}
cat("done\n")
