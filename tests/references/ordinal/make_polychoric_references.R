# Reference values for connection.latent._polychoric (issue 14, step 1): lavaan::lavCor two-step
# polychoric correlations, thresholds with standard errors and the asymptotic covariance
# matrix Gamma (lavInspect(fit, "gamma"), N times the covariance of the sample statistics).
# Re-run from the repository root:  Rscript tests/references/ordinal/make_polychoric_references.R
# Writes, next to this script: <name>_data.csv (the input), <name>_cor.csv, <name>_thresholds.csv,
# <name>_correlations.csv (est, se), <name>_gamma.csv (row/column names as lavaan), <name>.json
# (n, rows dropped, versions), and timing.json (lavCor timings, 30 five-point items, n = 1e4).
suppressMessages({library(lavaan); library(jsonlite)})
out <- "tests/references/ordinal"

write_ref <- function(name, d, write_data = TRUE) {
  if (write_data) write.csv(d, file.path(out, paste0(name, "_data.csv")), row.names = FALSE, na = "")
  fit <- lavCor(d, ordered = names(d), se = "standard", output = "fit")
  R <- lavCor(fit, output = "cor")
  write.csv(unclass(R), file.path(out, paste0(name, "_cor.csv")))
  pe <- parameterEstimates(fit)
  th <- pe[pe$op == "|", c("lhs", "rhs", "est", "se")]
  names(th) <- c("item", "threshold", "est", "se")
  write.csv(th, file.path(out, paste0(name, "_thresholds.csv")), row.names = FALSE)
  co <- pe[pe$op == "~~" & pe$lhs != pe$rhs, c("lhs", "rhs", "est", "se")]
  write.csv(co, file.path(out, paste0(name, "_correlations.csv")), row.names = FALSE)
  G <- lavInspect(fit, "gamma")
  write.csv(G, file.path(out, paste0(name, "_gamma.csv")))
  info <- list(n = lavInspect(fit, "nobs"), n_rows = nrow(d),
               rows_dropped = nrow(d) - lavInspect(fit, "nobs"),
               wls_obs_names = names(lavInspect(fit, "wls.obs")),
               lavaan = as.character(packageVersion("lavaan")), R = R.version.string,
               call = "lavCor(d, ordered = names(d), se = 'standard', output = 'fit')")
  write(toJSON(info, auto_unbox = TRUE, pretty = TRUE, digits = NA),
        file.path(out, paste0(name, ".json")))
  invisible(fit)
}

# (a) public data: psych::bfi, agreeableness and conscientiousness items (6-point), with its
#     missing values (lavCor drops incomplete rows listwise).
data(bfi, package = "psych")
write_ref("bfi", bfi[, c(paste0("A", 1:5), paste0("C", 1:5))])

# (b) simulated 5-point items: one factor, skewed thresholds (some empty extreme cells), seed 14.
set.seed(14)
n <- 500; lam <- c(.8, .7, .6, .75, .5, .65)
eta <- rnorm(n)
cuts <- list(c(-1.5, -.5, .4, 1.3), c(-2.2, -1.4, -.3, .9), c(-.8, 0, .7, 2.3),
             c(-1.9, -1, 0, 1), c(-1, -.2, .6, 1.5), c(-2.5, -2, -1.2, 0))
sim <- sapply(1:6, function(j) {
  ystar <- lam[j] * eta + sqrt(1 - lam[j]^2) * rnorm(n)
  findInterval(ystar, cuts[[j]]) + 1L
})
colnames(sim) <- paste0("y", 1:6)
write_ref("sim5", as.data.frame(sim))

# (c) binary and three-category items with zero cells: a 2x2 table with one empty cell (lavaan
#     adds 0.5 to it and keeps the margins: zero.add = c(0.5, 0), zero.keep.margins = TRUE) and a
#     2x3 table (b2 x t3) with an empty cell (zero.add[2] = 0: nothing added).
b1 <- c(rep(1, 20), rep(2, 40)); b2 <- c(rep(1, 12), rep(2, 8), rep(2, 40))
t3 <- c(rep(1, 8), rep(2, 7), rep(3, 5), rep(1, 2), rep(2, 18), rep(3, 20))
write_ref("zero", data.frame(b1 = b1, b2 = b2, t3 = t3))

# (d) a zero pattern that breaks a polychoric: every b1 = 1 row has t3 in {1, 2}, every b1 = 2 row
#     has t3 = 3 (perfect association): lavaan's estimate stops at its bound 0.999 with a warning;
#     its standard errors cannot be computed, so only the correlation matrix is written.
d4 <- data.frame(b1 = b1, b2 = b2, t3 = c(rep(1, 9), rep(2, 11), rep(3, 40)))
write.csv(d4, file.path(out, "bound_data.csv"), row.names = FALSE)
write.csv(unclass(lavCor(d4, ordered = names(d4))), file.path(out, "bound_cor.csv"))

# (e) ordinal and continuous variables: lavaan's HolzingerSwineford1939, x2, x3, x5 and x7 cut at
#     fixed points into 3-4 ordered categories, x1, x4 and x9 left continuous: polyserial and
#     Pearson correlations (lavCor output "cor") and the thresholds.
data(HolzingerSwineford1939, package = "lavaan")
hs <- HolzingerSwineford1939[, c("x1", "x2", "x3", "x4", "x5", "x7", "x9")]
hs$x2 <- findInterval(hs$x2, c(5, 6.5)) + 1L
hs$x3 <- findInterval(hs$x3, c(1.5, 2.5)) + 1L
hs$x5 <- findInterval(hs$x5, c(3, 4.5, 5.5)) + 1L
hs$x7 <- findInterval(hs$x7, c(3, 4.5)) + 1L
write.csv(hs, file.path(out, "mixed_data.csv"), row.names = FALSE)
ord <- c("x2", "x3", "x5", "x7")
write.csv(unclass(lavCor(hs, ordered = ord)), file.path(out, "mixed_cor.csv"))
th <- lavCor(hs, ordered = ord, output = "th")
write.csv(data.frame(name = names(th), est = as.numeric(th)), file.path(out, "mixed_th.csv"),
          row.names = FALSE)

# (f) where lavaan's optimiser stops short of the maximum of its own likelihood (two item pairs
#     found by a random stress comparison, 2000 rows each; kept as data): lavCor's estimate and
#     lavaan's own two-step log-likelihood (lav_bvord_logl, thresholds fixed) on a grid of rho.
#     plateau1: lavCor gives 0.999 (a plateau where lavaan floors the cell probabilities) though
#     its log-likelihood is higher near 0.961; plateau2: the log-likelihood rises (by < 1e-6) all
#     the way to the bound, and lavCor stops at 0.939.
for (name in c("plateau1", "plateau2")) {
  d <- read.csv(file.path(out, paste0(name, "_data.csv")))
  est <- suppressWarnings(lavCor(d, ordered = names(d)))[1, 2]
  f1 <- lavaan:::lav_uvord_fit(d$a); f2 <- lavaan:::lav_uvord_fit(d$b)
  grid <- sort(unique(c(seq(0.90, 0.999, by = 0.0005), est)))
  ll <- sapply(grid, function(r) lavaan:::lav_bvord_logl(Y1 = d$a, Y2 = d$b, rho = r,
                                                          fit.y1 = f1, fit.y2 = f2))
  write(toJSON(list(lavcor = est, rho = grid, logl = ll), digits = NA, pretty = TRUE),
        file.path(out, paste0(name, ".json")))
}

# timing: 30 five-point items, n = 1e4 (lavCor only, R start-up excluded)
set.seed(2026)
n <- 1e4; p <- 30
eta <- rnorm(n)
Y <- sapply(1:p, function(j) {
  l <- 0.5 + 0.3 * (j %% 4) / 3
  findInterval(l * eta + sqrt(1 - l^2) * rnorm(n), c(-1.6, -0.6, 0.3, 1.2)) + 1L
})
Y <- as.data.frame(Y)
t_cor <- system.time(lavCor(Y, ordered = names(Y)))[["elapsed"]]
t_fit <- system.time(fg <- lavCor(Y, ordered = names(Y), se = "standard", output = "fit"))[["elapsed"]]
write(toJSON(list(items = p, n = n, categories = 5, lavcor_cor_seconds = t_cor,
                  lavcor_fit_gamma_seconds = t_fit,
                  lavaan = as.character(packageVersion("lavaan")), R = R.version.string),
             auto_unbox = TRUE, pretty = TRUE), file.path(out, "timing.json"))
