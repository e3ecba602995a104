# Reference values for connection.latent._polychoric with continuous variables and Gamma
# (issue 14): lavaan 0.6.14 lavCor on four simulated 5-point items and two continuous variables.
# Re-run from the repository root:
#   Rscript tests/references/ordinal/make_polychoric_mixed_references.R
# Writes, next to this script: mixgamma_data.csv (the input, columns interleaved, a few missing
# values) and mixgamma.json: for lavCor(d[, c(items, continuous)], ordered = items,
# se = "standard", output = "fit") the correlations (lavCor output = "cor"), the thresholds
# (lavCor output = "th"), names and values of lavInspect(fit, "wls.obs") (thresholds and minus
# the means variable by variable, the variances, the covariances below the diagonal column by
# column), lavInspect(fit, "gamma") and lavInspect(fit, "nobs"), the standard errors of the
# thresholds and polychoric correlations (parameterEstimates); and the standard errors of the
# polyserial and Pearson correlations by the delta method from that Gamma (divisor N - 1, as
# lavaan's standard errors of the polychoric correlations).
suppressMessages({library(lavaan); library(jsonlite)})
out <- "tests/references/ordinal"
num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }

set.seed(1414)
n <- 600
f <- rnorm(n)
ys <- sapply(1:4, function(j) c(0.7, 0.6, 0.75, 0.5)[j] * f + rnorm(n, sd = 0.7))
cuts <- c(-1.5, -0.5, 0.3, 1.1)
d <- as.data.frame(apply(ys, 2, function(y) findInterval(y, cuts) + 1L))
names(d) <- paste0("y", 1:4)
d$c1 <- round(10 + 2 * (0.6 * f + rnorm(n, sd = 0.8)), 4)
d$c2 <- round(3 + 0.5 * f + rnorm(n), 4)
d <- d[, c("y1", "c1", "y2", "y3", "c2", "y4")]       # data order interleaves the kinds
d$y3[c(5, 77)] <- NA
d$c2[c(12, 300, 301)] <- NA
write.csv(d, file.path(out, "mixgamma_data.csv"), row.names = FALSE, na = "")

items <- c("y1", "y2", "y3", "y4")
cont <- c("c1", "c2")
dd <- d[, c(items, cont)]
fit <- lavCor(dd, ordered = items, se = "standard", output = "fit")
R <- lavCor(fit, output = "cor")
th <- lavCor(dd, ordered = items, output = "th")
wo <- lavInspect(fit, "wls.obs")
G <- lavInspect(fit, "gamma")
N <- lavInspect(fit, "nobs")
# delta method: a correlation with a continuous variable is cov / sd (polyserial) or
# cov / (sd1 sd2) (Pearson), with the variances in wls.obs
v <- setNames(wo[paste0(cont, "~~", cont)], cont)
se_cor <- list()
for (lab in names(wo)[grepl("~~", names(wo))]) {
  ab <- strsplit(lab, "~~")[[1]]
  if (ab[1] == ab[2] || all(ab %in% items)) next
  g <- setNames(numeric(length(wo)), names(wo))
  s <- wo[[lab]]
  cs <- ab[ab %in% cont]
  den <- prod(sqrt(v[cs]))
  g[lab] <- 1 / den
  for (cc in cs) g[paste0(cc, "~~", cc)] <- -s / den / (2 * v[[cc]])
  se_cor[[lab]] <- sqrt(as.numeric(t(g) %*% G %*% g) / (N - 1))
}
pe <- parameterEstimates(fit)
pth <- pe[pe$op == "|", ]
ppc <- pe[pe$op == "~~" & pe$lhs %in% items & pe$rhs %in% items & pe$lhs != pe$rhs, ]
ref <- list(data = "mixgamma_data.csv", items = items, continuous = cont, n = N,
            rows_dropped = nrow(d) - N,
            call = "lavCor(d[, c(items, continuous)], ordered = items, se = 'standard', output = 'fit')",
            cor = list(names = colnames(R), values = unname(unclass(R))),
            thresholds = list(names = names(th), est = num(th)),
            wls_obs = list(names = names(wo), values = num(wo)),
            gamma = unname(G), se_cor = se_cor,
            se_thresholds = as.list(setNames(num(pth$se), paste0(pth$lhs, "|", pth$rhs))),
            se_polychoric = as.list(setNames(num(ppc$se), paste0(ppc$lhs, "~~", ppc$rhs))),
            lavaan = as.character(packageVersion("lavaan")), R = R.version.string)
write(toJSON(ref, auto_unbox = TRUE, pretty = TRUE, digits = NA, na = "null"),
      file.path(out, "mixgamma.json"))
