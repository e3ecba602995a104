# Reference values for ordinal CFA/SEM by DWLS/WLSMV/ULSMV/ULS (issue 14, step 2):
# lavaan 0.6.14 cfa()/sem() with ordered = TRUE, parameterization "delta", one group.
# Re-run from the repository root:  Rscript tests/references/ordinal/make_wlsmv_references.R
# Writes, next to this script: wlsmv_<data>_data.csv (the input) and wlsmv_<name>.json per fit:
# parameterEstimates (lhs op rhs free est se), fitMeasures (all, NA as null),
# standardizedSolution (std.all and std.lv), lavInspect(fit, "th"), R-squared, the options.
suppressMessages({library(lavaan); library(jsonlite)})
out <- "tests/references/ordinal"

num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }

write_fit <- function(name, fit, data_name, model, call) {
  pe <- parameterEstimates(fit)
  pt <- parTable(fit)
  sa <- standardizedSolution(fit, type = "std.all", se = FALSE)
  sl <- standardizedSolution(fit, type = "std.lv", se = FALSE)
  fm <- fitMeasures(fit)
  r2 <- lavInspect(fit, "rsquare")
  th <- lavInspect(fit, "th")
  ref <- list(
    data = data_name, model = model, call = call,
    estimator = lavInspect(fit, "options")$estimator,
    test = lavInspect(fit, "options")$test, se = lavInspect(fit, "options")$se,
    n = lavInspect(fit, "nobs"), converged = lavInspect(fit, "converged"),
    estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, free = pt$free,
                     est = num(pe$est), se = num(pe$se),
                     std_all = num(sa$est.std), std_lv = num(sl$est.std)),
    fit_measures = as.list(setNames(num(fm), gsub(".", "_", names(fm), fixed = TRUE))),
    thresholds = as.list(setNames(num(th), names(th))),
    rsquare = as.list(setNames(num(r2), names(r2))),
    lavaan = as.character(packageVersion("lavaan")), R = R.version.string)
  write(toJSON(ref, auto_unbox = TRUE, pretty = TRUE, digits = NA, na = "null"),
        file.path(out, paste0("wlsmv_", name, ".json")))
}

# (a) HolzingerSwineford1939 x1..x9 cut at their quartiles and the 80th percentile (4 categories)
hs <- HolzingerSwineford1939[, paste0("x", 1:9)]
for (j in 1:9) hs[[j]] <- as.integer(cut(hs[[j]], breaks = quantile(hs[[j]], c(0, .25, .5, .8, 1)),
                                         include.lowest = TRUE))
write.csv(hs, file.path(out, "wlsmv_hs4_data.csv"), row.names = FALSE)
m_hs <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
for (est in c("WLSMV", "DWLS", "ULSMV", "ULS")) {
  fit <- cfa(m_hs, hs, ordered = TRUE, estimator = est)
  write_fit(paste0("hs4_", tolower(est)), fit, "wlsmv_hs4_data.csv", m_hs,
            sprintf("cfa(model, data, ordered = TRUE, estimator = '%s')", est))
}
fit <- cfa(m_hs, hs, ordered = TRUE, std.lv = TRUE)
write_fit("hs4_stdlv", fit, "wlsmv_hs4_data.csv", m_hs,
          "cfa(model, data, ordered = TRUE, std.lv = TRUE)")

# (b) simulated 5-point items, two correlated factors (four items each), n = 800, seed 2014;
#     a CFA and an SEM with the regression f2 ~ f1 (the same data)
set.seed(2014)
n <- 800
f1 <- rnorm(n); f2 <- 0.5 * f1 + sqrt(0.75) * rnorm(n)
lam <- c(.8, .7, .65, .55, .75, .7, .6, .5)
cuts <- list(c(-1.8, -.9, .1, 1.1), c(-1.5, -.6, .3, 1.4), c(-2, -1, -.2, .8),
             c(-1.2, -.3, .5, 1.6), c(-1.6, -.7, .2, 1.2), c(-2.2, -1.3, -.4, .7),
             c(-1, -.1, .8, 1.9), c(-1.7, -.8, .4, 1.5))
sim <- sapply(1:8, function(j) {
  eta <- if (j <= 4) f1 else f2
  ystar <- lam[j] * eta + sqrt(1 - lam[j]^2) * rnorm(n)
  findInterval(ystar, cuts[[j]]) + 1L
})
colnames(sim) <- paste0("y", 1:8)
sim <- as.data.frame(sim)
write.csv(sim, file.path(out, "wlsmv_sim5_data.csv"), row.names = FALSE)
m_cfa <- "f1 =~ y1 + y2 + y3 + y4\nf2 =~ y5 + y6 + y7 + y8"
fit <- cfa(m_cfa, sim, ordered = TRUE)
write_fit("sim5_cfa", fit, "wlsmv_sim5_data.csv", m_cfa, "cfa(model, data, ordered = TRUE)")
fit <- cfa(m_cfa, sim, ordered = TRUE, estimator = "ULSMV")
write_fit("sim5_ulsmv", fit, "wlsmv_sim5_data.csv", m_cfa,
          "cfa(model, data, ordered = TRUE, estimator = 'ULSMV')")
m_sem <- paste0(m_cfa, "\nf2 ~ f1\ny1 ~~ y2")
fit <- sem(m_sem, sim, ordered = paste0("y", 1:8))
write_fit("sim5_sem", fit, "wlsmv_sim5_data.csv", m_sem,
          "sem(model, data, ordered = paste0('y', 1:8))")
