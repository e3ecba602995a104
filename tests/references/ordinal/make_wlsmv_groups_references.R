# Reference values for multi-group ordinal CFA by WLSMV (issue 14, step 3): lavaan 0.6.14
# cfa(..., ordered = TRUE, group = "school", group.equal = ...), delta parameterization, and
# lavTestLRT over the ordinal ladder (Wu & Estabrook 2016 as lavaan frees it: with equal
# thresholds the scales ~*~ and the latent means of the second group are free).
# Re-run from the repository root:  Rscript tests/references/ordinal/make_wlsmv_groups_references.R
# Writes, next to this script: wlsmv_hsg_data.csv (the input) and wlsmv_hsg_<name>.json per fit
# (parameterEstimates with group and free, fitMeasures, standardizedSolution std.all, the group
# labels) and wlsmv_hsg_lrt.json (lavTestLRT of the ladder, default method and satorra.2000).
suppressMessages({library(lavaan); library(jsonlite)})
out <- "tests/references/ordinal"

num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }

write_fit <- function(name, fit, call) {
  pe <- parameterEstimates(fit)
  pt <- parTable(fit)
  pt <- pt[match(paste(pe$lhs, pe$op, pe$rhs, pe$group), paste(pt$lhs, pt$op, pt$rhs, pt$group)), ]
  sa <- standardizedSolution(fit, type = "std.all", se = FALSE)
  fm <- fitMeasures(fit)
  ref <- list(
    data = "wlsmv_hsg_data.csv", model = m_hs, call = call,
    group_labels = lavInspect(fit, "group.label"),
    group_equal = lavInspect(fit, "options")$group.equal,
    group_partial = lavInspect(fit, "options")$group.partial,
    estimator = lavInspect(fit, "options")$estimator,
    n = lavInspect(fit, "nobs"), converged = lavInspect(fit, "converged"),
    estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = pe$group, free = pt$free,
                     est = num(pe$est), se = num(pe$se), std_all = num(sa$est.std)),
    fit_measures = as.list(setNames(num(fm), gsub(".", "_", names(fm), fixed = TRUE))),
    lavaan = as.character(packageVersion("lavaan")), R = R.version.string)
  write(toJSON(ref, auto_unbox = TRUE, pretty = TRUE, digits = NA, na = "null"),
        file.path(out, paste0("wlsmv_hsg_", name, ".json")))
}

# HolzingerSwineford1939 x1..x9 cut at their (whole-sample) quartiles and 80th percentile
# (4 categories, every category observed in both schools), with the school
hs0 <- HolzingerSwineford1939
hs <- hs0[, paste0("x", 1:9)]
for (j in 1:9) hs[[j]] <- as.integer(cut(hs[[j]], breaks = quantile(hs[[j]], c(0, .25, .5, .8, 1)),
                                         include.lowest = TRUE))
hs$school <- as.character(hs0$school)
write.csv(hs, file.path(out, "wlsmv_hsg_data.csv"), row.names = FALSE)
m_hs <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"

ladder <- list(configural = "", thresholds = "thresholds",
               loadings = c("thresholds", "loadings"),
               intercepts = c("thresholds", "loadings", "intercepts"))
fits <- list()
for (nm in names(ladder)) {
  ge <- ladder[[nm]]
  fits[[nm]] <- cfa(m_hs, hs, ordered = TRUE, group = "school", group.equal = ge)
  write_fit(nm, fits[[nm]], sprintf(
    "cfa(model, data, ordered = TRUE, group = 'school', group.equal = c(%s))",
    paste0("'", ge, "'", collapse = ", ")))
}
part <- c("x3|t1", "x3|t2", "visual=~x2")
fit <- cfa(m_hs, hs, ordered = TRUE, group = "school", group.equal = c("thresholds", "loadings"),
           group.partial = part)
write_fit("partial", fit, paste0("cfa(model, data, ordered = TRUE, group = 'school', ",
          "group.equal = c('thresholds', 'loadings'), group.partial = c('x3|t1', 'x3|t2', ",
          "'visual=~x2'))"))

lrt_list <- function(tab) list(model = rownames(tab), df = num(tab$Df),
                               chisq = num(tab$Chisq), chisq_diff = num(tab[["Chisq diff"]]),
                               df_diff = num(tab[["Df diff"]]),
                               pvalue = num(tab[["Pr(>Chisq)"]]))
f3 <- fits[c("configural", "thresholds", "loadings")]
lrt <- list(
  default = lrt_list(lavTestLRT(f3$configural, f3$thresholds, f3$loadings,
                                model.names = names(f3))),
  satorra_2000 = lrt_list(lavTestLRT(f3$configural, f3$thresholds, f3$loadings,
                                     method = "satorra.2000", model.names = names(f3))),
  default_method = "lavTestLRT(configural, thresholds, loadings) (method 'default')",
  lavaan = as.character(packageVersion("lavaan")), R = R.version.string)
write(toJSON(lrt, auto_unbox = TRUE, pretty = TRUE, digits = NA, na = "null"),
      file.path(out, "wlsmv_hsg_lrt.json"))
