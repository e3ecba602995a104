# Reference values for the multi-group ordinal models not covered by the other scripts (issue
# 14): lavaan 0.6.14. Re-run from the repository root:
#   Rscript tests/references/ordinal/make_wlsmv_partial_references.R
# Writes, next to this script, wlsmv_<name>.json per fit, as make_wlsmv_mixed_references.R
# (parameterEstimates with group and free, std.all, std.lv, every fitMeasures value, wls.obs
# and gamma of the first group, the options used):
# - theta_hsg_partial: the hs4 three-factor CFA by school (wlsmv_hsg_data.csv), theta
#   parameterization, equal thresholds and loadings with one loading and one threshold freed
#   (group.partial = c("visual=~x2", "x3|t1"));
# - mixed_groups_cx_equal: an SEM of two factors of ordinal items (visual: x2, x3; speed: x7,
#   x8, x9), visual regressed on the continuous covariates x1 and age, speed on age
#   (wlsmv_mixed_data.csv), by school, equal loadings and thresholds, lavaan's default
#   conditional.x = TRUE (delta); mixed_groups_cx_equal_theta: the same in the theta
#   parameterization. (One factor of x5..x8 on x1 and age gives a negative residual variance
#   of x6 in Pasteur, and in theta a loading of 42 with a standard error of 23: not used.)
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

g <- read.csv(file.path(out, "wlsmv_hsg_data.csv"))
m_hs <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
fit <- cfa(m_hs, g, ordered = paste0("x", 1:9), group = "school", parameterization = "theta",
           group.equal = c("thresholds", "loadings"), group.partial = c("visual=~x2", "x3|t1"))
write_fit("theta_hsg_partial", fit, "wlsmv_hsg_data.csv", m_hs,
          paste("cfa(model, data, ordered = TRUE, group = 'school', parameterization = 'theta',",
                "group.equal = c('thresholds', 'loadings'),",
                "group.partial = c('visual=~x2', 'x3|t1'))"))

d <- read.csv(file.path(out, "wlsmv_mixed_data.csv"))
m_sem <- paste("visual =~ x2 + x3\nspeed =~ x7 + x8 + x9\nvisual ~ x1 + age",
               "speed ~ age", sep = "\n")
ord <- c("x2", "x3", "x7", "x8", "x9")
fit <- sem(m_sem, d, ordered = ord, group = "school", group.equal = c("loadings", "thresholds"))
write_fit("mixed_groups_cx_equal", fit, "wlsmv_mixed_data.csv", m_sem,
          paste("sem(model, data, ordered = c('x2', 'x3', 'x7', 'x8', 'x9'), group = 'school',",
                "group.equal = c('loadings', 'thresholds'))"))
fit <- sem(m_sem, d, ordered = ord, group = "school", group.equal = c("loadings", "thresholds"),
           parameterization = "theta")
write_fit("mixed_groups_cx_equal_theta", fit, "wlsmv_mixed_data.csv", m_sem,
          paste("sem(model, data, ordered = c('x2', 'x3', 'x7', 'x8', 'x9'), group = 'school',",
                "group.equal = c('loadings', 'thresholds'), parameterization = 'theta')"))
