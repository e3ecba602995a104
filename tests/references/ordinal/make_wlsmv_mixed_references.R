# Reference values for ordinal models with continuous variables and for the theta
# parameterization (issue 14, step 4): lavaan 0.6.14.
# Re-run from the repository root:  Rscript tests/references/ordinal/make_wlsmv_mixed_references.R
# Writes, next to this script: wlsmv_mixed_data.csv (the input) and wlsmv_<name>.json per fit
# (as make_wlsmv_references.R, plus the sample statistics: names and values of
# lavInspect(fit, "wls.obs") and lavInspect(fit, "gamma"), and the options used).
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
  ng <- lavInspect(fit, "ngroups")
  wo <- lavInspect(fit, "wls.obs")
  ga <- lavInspect(fit, "gamma")
  if (ng > 1) { wo <- wo[[1]]; ga <- ga[[1]] }
  grp <- if (is.null(pe$group)) rep(1L, nrow(pe)) else pe$group
  opt <- lavInspect(fit, "options")
  ref <- list(
    data = data_name, model = model, call = call,
    estimator = opt$estimator, parameterization = opt$parameterization,
    conditional_x = opt$conditional.x,
    n = lavInspect(fit, "nobs"), converged = lavInspect(fit, "converged"),
    group_labels = lavInspect(fit, "group.label"),
    estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = grp,
                     free = pt$free[pt$op != "=="],
                     est = num(pe$est), se = num(pe$se),
                     std_all = num(sa$est.std), std_lv = num(sl$est.std)),
    fit_measures = as.list(setNames(num(fm), gsub(".", "_", names(fm), fixed = TRUE))),
    rsquare = if (ng > 1) NULL else as.list(setNames(num(r2), names(r2))),
    wls_obs = list(names = names(wo), values = num(wo)),
    gamma = unname(ga),
    lavaan = as.character(packageVersion("lavaan")), R = R.version.string)
  write(toJSON(ref, auto_unbox = TRUE, pretty = TRUE, digits = NA, na = "null"),
        file.path(out, paste0("wlsmv_", name, ".json")))
}

# the hs4 items (x1..x9 cut at quartiles and the 80th percentile), with x1 and x4 replaced by
# their continuous originals, the age in years (continuous) and the school
d <- read.csv(file.path(out, "wlsmv_hs4_data.csv"))
hs <- HolzingerSwineford1939
d$x1 <- hs$x1
d$x4 <- hs$x4
d$age <- round(hs$ageyr + hs$agemo / 12, 3)
d$school <- hs$school
write.csv(d, file.path(out, "wlsmv_mixed_data.csv"), row.names = FALSE)

# (a) continuous indicators among ordinal ones (one ordinal item only: mixed_one)
m_cfa <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6"
ord <- c("x2", "x3", "x5", "x6")
fit <- cfa(m_cfa, d, ordered = ord)
write_fit("mixed_cfa", fit, "wlsmv_mixed_data.csv", m_cfa,
          "cfa(model, data, ordered = c('x2', 'x3', 'x5', 'x6'))")
fit <- cfa(m_cfa, d, ordered = ord, estimator = "ULSMV")
write_fit("mixed_ulsmv", fit, "wlsmv_mixed_data.csv", m_cfa,
          "cfa(model, data, ordered = c('x2', 'x3', 'x5', 'x6'), estimator = 'ULSMV')")
m_one <- "f =~ x1 + x2 + x4 + x9"
fit <- cfa(m_one, d, ordered = "x2")
write_fit("mixed_one", fit, "wlsmv_mixed_data.csv", m_one, "cfa(model, data, ordered = 'x2')")

# (b) an SEM with continuous exogenous covariates: lavaan's default (conditional.x = TRUE
#     with ordinal endogenous variables) and conditional.x = FALSE
m_sem <- "f =~ x5 + x6 + x7\nf ~ x1 + age"
ord2 <- c("x5", "x6", "x7")
fit <- sem(m_sem, d, ordered = ord2)
write_fit("mixed_sem_cx", fit, "wlsmv_mixed_data.csv", m_sem,
          "sem(model, data, ordered = c('x5', 'x6', 'x7'))")
m_sem3 <- "f =~ x4 + x5 + x6 + x7\nf ~ age + x1"
fit <- sem(m_sem3, d, ordered = c("x5", "x6", "x7"))
write_fit("mixed_sem_cx_num", fit, "wlsmv_mixed_data.csv", m_sem3,
          "sem(model, data, ordered = c('x5', 'x6', 'x7'))")
# (lavaan 0.6.14 puts the polyserial correlations of x1 with x5 and x6 given age and x9 at its
# bound 0.995 in "f =~ x4 + x5 + x6 + x1; f ~ age + x9", far from the maximum of its own
# two-step likelihood near 0.22: not used as a reference; tests/test_ordinal_mixed.py checks
# that this package returns the maximum there)
m_sem2 <- "f =~ x5 + x6 + x7 + x8\nf ~ age\nx5 ~ x1"
fit <- sem(m_sem2, d, ordered = c(ord2, "x8"), parameterization = "theta")
write_fit("mixed_sem_cx_theta", fit, "wlsmv_mixed_data.csv", m_sem2,
          "sem(model, data, ordered = c('x5', 'x6', 'x7', 'x8'), parameterization = 'theta')")
fit <- sem(m_sem, d, ordered = ord2, conditional.x = FALSE)
write_fit("mixed_sem", fit, "wlsmv_mixed_data.csv", m_sem,
          "sem(model, data, ordered = c('x5', 'x6', 'x7'), conditional.x = FALSE)")

# (b2) two groups: continuous indicators (equal thresholds and loadings), and covariates
fit <- cfa(m_cfa, d, ordered = ord, group = "school", group.equal = c("thresholds", "loadings"))
write_fit("mixed_groups", fit, "wlsmv_mixed_data.csv", m_cfa,
          paste("cfa(model, data, ordered = c('x2', 'x3', 'x5', 'x6'), group = 'school',",
                "group.equal = c('thresholds', 'loadings'))"))
fit <- sem(m_sem, d, ordered = ord2, group = "school")
write_fit("mixed_groups_cx", fit, "wlsmv_mixed_data.csv", m_sem,
          "sem(model, data, ordered = c('x5', 'x6', 'x7'), group = 'school')")

# (c) the theta parameterization: ordinal only (hs4), mixed, and two groups
h4 <- read.csv(file.path(out, "wlsmv_hs4_data.csv"))
m_hs <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
fit <- cfa(m_hs, h4, ordered = TRUE, parameterization = "theta")
write_fit("theta_hs4", fit, "wlsmv_hs4_data.csv", m_hs,
          "cfa(model, data, ordered = TRUE, parameterization = 'theta')")
fit <- cfa(m_cfa, d, ordered = ord, parameterization = "theta")
write_fit("theta_mixed", fit, "wlsmv_mixed_data.csv", m_cfa,
          "cfa(model, data, ordered = c('x2', 'x3', 'x5', 'x6'), parameterization = 'theta')")
g <- read.csv(file.path(out, "wlsmv_hsg_data.csv"))
fit <- cfa(m_hs, g, ordered = paste0("x", 1:9), group = "school", parameterization = "theta",
           group.equal = c("thresholds", "loadings"))
write_fit("theta_hsg_loadings", fit, "wlsmv_hsg_data.csv", m_hs,
          paste("cfa(model, data, ordered = TRUE, group = 'school', parameterization = 'theta',",
                "group.equal = c('thresholds', 'loadings'))"))
