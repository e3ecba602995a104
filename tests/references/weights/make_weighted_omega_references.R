# Reference values for omega, CR and AVE under sampling weights (tests/test_weighted_omega.py):
# semTools::compRelSEM(obs.var = FALSE) and semTools::AVE on lavaan fits with
# sampling.weights = "w" (MLR), one-factor per construct and one joint CFA, and CR from the
# standardized loadings of the same fits (Fornell & Larcker); and the weighted calibration
# fit behind ConnectionIndex.fit(weights=) (tests/test_weighted_omega.py).
#
# Data: as make_weighted_reliability_references.R: lavaan's HolzingerSwineford1939 (x1-x9) with
# weights w drawn with set.seed(15) from Uniform(0.3, 3), x2 missing in rows 5, 40 and 41
# (listwise within each construct; the joint model on the rows complete on all items).
#
# Run: cd tests/references/weights && Rscript make_weighted_omega_references.R
suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
  library(jsonlite)
})
data(HolzingerSwineford1939)
d <- HolzingerSwineford1939[, paste0("x", 1:9)]
set.seed(15)
d$w <- runif(nrow(d), 0.3, 3)
d$x2[c(5, 40, 41)] <- NA
scales <- list(visual = c("x1", "x2", "x3"), textual = c("x4", "x5", "x6"),
               speed = c("x7", "x8", "x9"))
cr_std <- function(fit, lv) {
  std <- standardizedSolution(fit)
  lam <- std$est.std[std$op == "=~" & std$lhs == lv]
  sum(lam)^2 / (sum(lam)^2 + sum(1 - lam^2))
}
out <- list(separate = list(), joint = list())
for (cn in names(scales)) {
  items <- scales[[cn]]
  rows <- complete.cases(d[, items])
  f1 <- cfa(sprintf("%s =~ %s", cn, paste(items, collapse = " + ")), data = d[rows, ],
            sampling.weights = "w")
  out$separate[[cn]] <- list(n = sum(rows), omega = compRelSEM(f1, obs.var = FALSE)[[cn]],
                             ave = AVE(f1)[[cn]], cr = cr_std(f1, cn),
                             estimator = lavInspect(f1, "options")$estimator,
                             loadings = standardizedSolution(f1)$est.std[1:3])
}
rows <- complete.cases(d[, unlist(scales)])
model <- paste(sapply(names(scales), function(n) paste(n, "=~", paste(scales[[n]], collapse = " + "))),
               collapse = "\n")
fj <- cfa(model, data = d[rows, ], sampling.weights = "w")
om <- compRelSEM(fj, obs.var = FALSE)
av <- AVE(fj)
for (cn in names(scales)) {
  out$joint[[cn]] <- list(n = sum(rows), omega = om[[cn]], ave = av[[cn]], cr = cr_std(fj, cn))
}
# ConnectionIndex.fit(weights=): the calibration CFA of visual (x1-x3) with sampling weights;
# lavPredict's regression factor-score weights Psi Lambda' Sigma^-1 of that fit and the
# weighted item means of its rows
rows <- complete.cases(d[, scales$visual])
fi <- cfa("visual =~ x1 + x2 + x3", data = d[rows, ], sampling.weights = "w")
est <- lavInspect(fi, "est")
sig <- lavInspect(fi, "implied")$cov
W <- est$psi %*% t(est$lambda) %*% solve(sig)
wr <- d$w[rows]
out$index <- list(n = sum(rows), weights = as.numeric(W),
                  means = as.numeric(colSums(d[rows, scales$visual] * wr) / sum(wr)))
out$lavaan <- as.character(packageVersion("lavaan"))
out$semTools <- as.character(packageVersion("semTools"))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "weighted_omega_references.json")
