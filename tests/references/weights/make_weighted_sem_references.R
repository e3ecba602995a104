# Reference values for weighted CFA/SEM (tests/test_weighted_sem.py): lavaan 0.6.14 with
# sampling.weights (default normalization "total": the weights rescaled to sum to N over all
# groups; default estimator MLR: weighted moments, Huber-White standard errors from the
# weighted casewise scores, Yuan-Bentler (Mplus) scaled test).
#
# Data: lavaan's HolzingerSwineford1939 with a weight w = exp(N(0, 0.5)) drawn with
# set.seed(2015), rounded to 4 decimals, written to hs_weights.csv (one row per pupil, in the
# data's order) so that the tests read the very same weights.
#
# Run: cd tests/references/weights && Rscript make_weighted_sem_references.R
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
stopifnot(packageVersion("lavaan") == "0.6.14")
data(HolzingerSwineford1939)
d <- HolzingerSwineford1939
set.seed(2015)
d$w <- round(exp(rnorm(nrow(d), 0, 0.5)), 4)
write.csv(data.frame(id = d$id, w = sprintf("%.4f", d$w)), "hs_weights.csv", row.names = FALSE,
          quote = FALSE)

hs3 <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
sem_model <- paste(hs3, "speed ~ visual + textual", sep = "\n")
sem_x_model <- paste("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6",
                     "visual ~ ageyr\ntextual ~ visual + ageyr", sep = "\n")

record <- function(fit) {
  pe <- parameterEstimates(fit)
  ss <- standardizedSolution(fit)
  fm <- fitMeasures(fit)
  list(params = data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs,
                           group = if (is.null(pe$group)) 1L else pe$group,
                           est = pe$est, se = pe$se, std_all = ss$est.std),
       fit = as.list(setNames(as.numeric(fm), names(fm))),
       nobs = lavInspect(fit, "nobs"))
}

out <- list()
out$cfa <- record(cfa(hs3, data = d, sampling.weights = "w"))
out$sem <- record(sem(sem_model, data = d, sampling.weights = "w"))
out$sem_x <- record(sem(sem_x_model, data = d, sampling.weights = "w"))
# estimator = "ML" with weights: lavaan still uses the sandwich and the scaled test (= MLR)
out$cfa_ml <- record(cfa(hs3, data = d, sampling.weights = "w", estimator = "ML"))
configural <- cfa(hs3, data = d, group = "school", sampling.weights = "w")
metric <- cfa(hs3, data = d, group = "school", sampling.weights = "w",
              group.equal = "loadings")
scalar <- cfa(hs3, data = d, group = "school", sampling.weights = "w",
              group.equal = c("loadings", "intercepts"))
out$mg_configural <- record(configural)
out$mg_metric <- record(metric)
out$mg_scalar <- record(scalar)
lrt <- lavTestLRT(configural, metric, scalar)
out$mg_lrt <- data.frame(model = rownames(lrt), df = lrt$Df, chisq = lrt$Chisq,
                         chisq_diff = lrt[["Chisq diff"]], df_diff = lrt[["Df diff"]],
                         pvalue = lrt[["Pr(>Chisq)"]])
# weights sum to N over all groups, not per group
wt <- configural@Data@weights
out$mg_weight_sums <- sapply(wt, sum)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "weighted_sem_references.json")
