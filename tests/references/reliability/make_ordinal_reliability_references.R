# Ordinal reliability and HTMT references (issue 14): psych 2.2.9, semTools 0.5.6, lavaan 0.6.14.
# Simulates 5- and 4-point items cut from a latent normal (fixed seed), writes the data and what
# psych/semTools report for them. Re-run: Rscript tests/references/reliability/make_ordinal_reliability_references.R
suppressMessages({library(lavaan); library(semTools); library(psych); library(jsonlite)})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
set.seed(20261204)
n <- 600
phi <- matrix(c(1, .5, .3, .5, 1, .4, .3, .4, 1), 3)
eta <- MASS::mvrnorm(n, rep(0, 3), phi)
cut_item <- function(f, lam, th) {
  ystar <- lam * f + sqrt(1 - lam^2) * rnorm(length(f))
  findInterval(ystar, th) + 1
}
th5 <- c(-1.6, -0.6, 0.3, 1.2)
th4 <- c(-1.0, 0.0, 0.9)
d <- data.frame(
  a1 = cut_item(eta[, 1], .80, th5), a2 = cut_item(eta[, 1], .70, th5 + .2),
  a3 = cut_item(eta[, 1], .60, th5 - .1), a4 = cut_item(eta[, 1], .75, th5),
  b1 = cut_item(eta[, 2], .70, th4), b2 = cut_item(eta[, 2], .65, th4 - .3),
  b3 = cut_item(eta[, 2], .80, th4 + .2),
  c1 = round(.7 * eta[, 3] + .6 * rnorm(n), 3), c2 = round(.8 * eta[, 3] + .5 * rnorm(n), 3),
  c3 = round(.6 * eta[, 3] + .7 * rnorm(n), 3))
write.csv(d, file.path(here, "ordinal_reliability_data.csv"), row.names = FALSE)

cons <- list(a = c("a1", "a2", "a3", "a4"), b = c("b1", "b2", "b3"))
ord <- unlist(cons)
out <- list(n = n, constructs = cons)
R <- lavCor(d[, ord], ordered = ord)
out$polychoric <- unname(as.matrix(R))
for (nm in names(cons)) {
  items <- cons[[nm]]
  pr <- psych::polychoric(d[, items])$rho
  rl <- R[items, items]
  fit <- cfa(paste("f =~", paste(items, collapse = " + ")), d, ordered = items)
  std <- standardizedSolution(fit)
  lam <- std$est.std[std$op == "=~"]
  out[[nm]] <- list(
    ordinal_alpha_psych = psych::alpha(pr, warnings = FALSE)$total$std.alpha,
    ordinal_alpha_lavcor = psych::alpha(rl, warnings = FALSE)$total$std.alpha,
    categorical_omega = unname(compRelSEM(fit)),   # default: ord.scale = TRUE, obs.var = TRUE
    categorical_omega_implied = unname(compRelSEM(fit, obs.var = FALSE)),
    latent_omega = unname(compRelSEM(fit, ord.scale = FALSE)),
    ave = unname(AVE(fit)),
    cr = sum(lam)^2 / (sum(lam)^2 + sum(1 - lam^2)),
    loadings_std = lam,
    thresholds = unname(lavInspect(fit, "th")))
}
joint <- cfa("a =~ a1 + a2 + a3 + a4\nb =~ b1 + b2 + b3", d, ordered = ord)
out$joint <- list(categorical_omega = as.list(compRelSEM(joint)),
                  latent_omega = as.list(compRelSEM(joint, ord.scale = FALSE)),
                  ave = as.list(AVE(joint)))
m3 <- "a =~ a1 + a2 + a3 + a4\nb =~ b1 + b2 + b3\nc =~ c1 + c2 + c3"
h1 <- htmt(m3, d, ordered = ord, htmt2 = FALSE)
h2 <- htmt(m3, d, ordered = ord, htmt2 = TRUE)
out$htmt <- list(ab = h1["b", "a"], ac = h1["c", "a"], bc = h1["c", "b"])
out$htmt2 <- list(ab = h2["b", "a"], ac = h2["c", "a"], bc = h2["c", "b"])
out$versions <- list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")),
                     semTools = as.character(packageVersion("semTools")),
                     psych = as.character(packageVersion("psych")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(here, "ordinal_reliability.json"))
