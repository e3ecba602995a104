# Reference values for ordinal fits with missing values by pairwise deletion (lavaan 0.6.14
# cfa(..., ordered =, missing = "pairwise")): thresholds from each item's available values,
# polychoric/polyserial correlations from each pair's complete rows, Gamma from the casewise
# scores with the missing ones left out.
# Re-run from the repository root:  Rscript tests/references/ordinal/make_pairwise_references.R
# Writes, next to this script: pairwise_data.csv (the input: six 5-point items y1..y6,
# continuous x and x2, a group g; empty = missing) and pairwise_<name>.json per fit (parameterEstimates
# with group and free, std.all, fitMeasures, nobs, wls.obs and gamma of the first group), and
# pairwise_lrt.json (the ladder's fit measures and lavTestLRT), pairwise_lavcor*.json
# (lavCor(missing = "pairwise") estimates, standard errors and Gamma: items only, with x, with
# x and x2).
suppressMessages({library(lavaan); library(jsonlite)})
out <- "tests/references/ordinal"

num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }

# ---- data: two correlated factors, latent responses cut into five categories ---------------
set.seed(20261205)
n <- 600
f <- matrix(rnorm(n * 2), n, 2) %*% chol(matrix(c(1, .45, .45, 1), 2))
g <- rep(c("a", "b"), each = n / 2)
# loadings on f1 and f2: y3 and y6 also load on the other factor (the fitted simple structure
# misfits a little, so the fit measures are informative)
lam <- rbind(c(.75, 0), c(.65, 0), c(.55, .35), c(0, .80), c(0, .60), c(.30, .55))
phi <- matrix(c(1, .45, .45, 1), 2)
th <- rbind(c(-1.6, -.7, .2, 1.1), c(-1.3, -.4, .5, 1.4), c(-1.8, -.9, 0, .9),
            c(-1.4, -.5, .4, 1.3), c(-1.2, -.3, .6, 1.5), c(-1.7, -.6, .3, 1.2))
d <- data.frame(row.names = seq_len(n))
for (j in 1:6) {
  ystar <- drop(f %*% lam[j, ]) + sqrt(1 - drop(t(lam[j, ]) %*% phi %*% lam[j, ])) * rnorm(n)
  shift <- ifelse(g == "b", .15, 0)            # group b answers a little higher
  d[[paste0("y", j)]] <- findInterval(ystar + shift, th[j, ]) + 1L
}
d$x <- round(10 + 2 * (.7 * f[, 2] + sqrt(1 - .49) * rnorm(n)), 2)
d$g <- g
# about 8% missing in y2, y3, y5, y6 and x: completely at random in y2 and y5, at random given
# y1 (observed) in y3 and y6; three rows with nothing observed (lavaan leaves them out of nobs)
d$y2[runif(n) < .08] <- NA
d$y5[runif(n) < .08] <- NA
d$y3[runif(n) < ifelse(d$y1 >= 4, .14, .05)] <- NA
d$y6[runif(n) < ifelse(d$y1 <= 2, .14, .05)] <- NA
d$x[runif(n) < .08] <- NA
d[c(17, 288, 451), c(paste0("y", 1:6), "x")] <- NA
# a second continuous variable (drawn last, so the columns above do not depend on it), for the
# two-step correlation of two continuous variables with missing values
d$x2 <- round(5 + .6 * f[, 1] + .8 * rnorm(n), 2)
d$x2[runif(n) < .08] <- NA
d$x2[c(17, 288, 451)] <- NA
# a covariate observed in every row, drawn last (the rows with no item answered have it)
d$age <- round(40 + 10 * (.3 * f[, 1] + sqrt(1 - .09) * rnorm(n)))
write.csv(d, file.path(out, "pairwise_data.csv"), row.names = FALSE, na = "")

# ---- fits -------------------------------------------------------------------------------
write_fit <- function(name, fit, model, call) {
  pe <- parameterEstimates(fit)
  pt <- parTable(fit)
  pt <- pt[pt$op != "==", ]
  sa <- standardizedSolution(fit, type = "std.all", se = FALSE)
  fm <- fitMeasures(fit)
  ng <- lavInspect(fit, "ngroups")
  wo <- lavInspect(fit, "wls.obs")
  ga <- lavInspect(fit, "gamma")
  if (ng > 1) { wo <- wo[[1]]; ga <- ga[[1]] }
  grp <- if (is.null(pe$group)) rep(1L, nrow(pe)) else pe$group
  opt <- lavInspect(fit, "options")
  ref <- list(
    data = "pairwise_data.csv", model = model, call = call,
    estimator = opt$estimator, missing = opt$missing,
    group_equal = opt$group.equal,
    n = lavInspect(fit, "nobs"), norig = lavInspect(fit, "norig"),
    converged = lavInspect(fit, "converged"),
    group_labels = lavInspect(fit, "group.label"),
    estimates = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = grp, free = pt$free,
                     est = num(pe$est), se = num(pe$se), std_all = num(sa$est.std)),
    fit_measures = as.list(setNames(num(fm), gsub(".", "_", names(fm), fixed = TRUE))),
    wls_obs = list(names = names(wo), values = num(wo)),
    gamma = unname(ga),
    lavaan = as.character(packageVersion("lavaan")), R = R.version.string)
  write(toJSON(ref, auto_unbox = TRUE, pretty = TRUE, digits = NA, na = "null"),
        file.path(out, paste0("pairwise_", name, ".json")))
}

items <- paste0("y", 1:6)
m2 <- "f1 =~ y1 + y2 + y3\nf2 =~ y4 + y5 + y6"
fit <- cfa(m2, d, ordered = items, missing = "pairwise")
write_fit("cfa", fit, m2, "cfa(model, data, ordered = paste0('y', 1:6), missing = 'pairwise')")
fit <- cfa(m2, d, ordered = items, missing = "pairwise", estimator = "ULSMV")
write_fit("ulsmv", fit, m2, paste0("cfa(model, data, ordered = paste0('y', 1:6), ",
                                   "missing = 'pairwise', estimator = 'ULSMV')"))
fit <- cfa(m2, d, ordered = items, missing = "pairwise", group = "g",
           group.equal = c("thresholds", "loadings"))
write_fit("groups", fit, m2, paste0("cfa(model, data, ordered = paste0('y', 1:6), ",
          "missing = 'pairwise', group = 'g', group.equal = c('thresholds', 'loadings'))"))
fit <- cfa(m2, d, ordered = items, missing = "pairwise", estimator = "DWLS")
write_fit("dwls", fit, m2, paste0("cfa(model, data, ordered = paste0('y', 1:6), ",
                                  "missing = 'pairwise', estimator = 'DWLS')"))
fit <- cfa(m2, d, ordered = items, missing = "pairwise", parameterization = "theta")
write_fit("theta", fit, m2, paste0("cfa(model, data, ordered = paste0('y', 1:6), ",
                                   "missing = 'pairwise', parameterization = 'theta')"))

# the ordinal invariance ladder under pairwise deletion and lavTestLRT over it
lad <- list(configural = "", thresholds = "thresholds", loadings = c("thresholds", "loadings"))
steps <- lapply(lad, function(ge) cfa(m2, d, ordered = items, missing = "pairwise",
                                      group = "g", group.equal = ge))
tab <- lavTestLRT(steps$configural, steps$thresholds, steps$loadings,
                  model.names = names(lad))
lrt <- list(
  steps = lapply(steps, function(f) as.list(setNames(num(fitMeasures(f)),
                                                     gsub(".", "_", names(fitMeasures(f)),
                                                          fixed = TRUE)))),
  lrt = list(model = rownames(tab), df = num(tab$Df), chisq = num(tab$Chisq),
             chisq_diff = num(tab[["Chisq diff"]]), df_diff = num(tab[["Df diff"]]),
             pvalue = num(tab[["Pr(>Chisq)"]])),
  call = "lavTestLRT(configural, thresholds, loadings) (method 'default'), missing = 'pairwise'",
  lavaan = as.character(packageVersion("lavaan")), R = R.version.string)
write(toJSON(lrt, auto_unbox = TRUE, pretty = TRUE, digits = NA, na = "null"),
      file.path(out, "pairwise_lrt.json"))

m3 <- "f1 =~ y1 + y2 + y3\nf2 =~ y4 + y5 + x"
fit <- cfa(m3, d, ordered = paste0("y", 1:5), missing = "pairwise")
write_fit("mixed", fit, m3, paste0("cfa(model, data, ordered = paste0('y', 1:5), ",
                                   "missing = 'pairwise')"))
m4 <- "f1 =~ y1 + y2 + y3\nf1 ~ x"
fit <- sem(m4, d, ordered = paste0("y", 1:3), missing = "pairwise", conditional.x = FALSE)
write_fit("sem", fit, m4, paste0("sem(model, data, ordered = paste0('y', 1:3), ",
                                 "missing = 'pairwise', conditional.x = FALSE)"))
# exogenous covariates, lavaan's default conditional.x = TRUE: rows missing a covariate are
# deleted (fixed.x), rows with no outcome observed are out of nobs but in the covariates'
# moments
m5 <- "f1 =~ y1 + y2 + y3\nf2 =~ y4 + y5 + y6\nf1 + f2 ~ age"
fit <- sem(m5, d, ordered = items, missing = "pairwise")
write_fit("sem_cx", fit, m5, "sem(model, data, ordered = paste0('y', 1:6), missing = 'pairwise')")
m6 <- "f1 =~ y1 + y2 + y3 + x2\nf1 ~ age + x"
fit <- sem(m6, d, ordered = paste0("y", 1:3), missing = "pairwise")
write_fit("sem_cx_mixed", fit, m6, paste0("sem(model, data, ordered = paste0('y', 1:3), ",
                                          "missing = 'pairwise')"))

# ---- lavCor: the sample statistics alone ---------------------------------------------------
write_cor <- function(name, fit, vars) {
  pe <- parameterEstimates(fit)
  th <- pe[pe$op == "|", ]
  co <- pe[pe$op == "~~" & pe$lhs != pe$rhs, ]
  ga <- lavInspect(fit, "gamma")
  ref <- list(
    data = "pairwise_data.csv", variables = vars, n = lavInspect(fit, "nobs"),
    cor = unname(lavCor(fit, output = "cor")),
    thresholds = list(item = th$lhs, threshold = th$rhs, est = num(th$est), se = num(th$se)),
    pairs = list(lhs = co$lhs, rhs = co$rhs, est = num(co$est), se = num(co$se)),
    gamma_names = rownames(ga), gamma = unname(ga),
    wls_obs = num(lavInspect(fit, "wls.obs")),
    lavaan = as.character(packageVersion("lavaan")), R = R.version.string)
  write(toJSON(ref, auto_unbox = TRUE, pretty = TRUE, digits = NA, na = "null"),
        file.path(out, paste0("pairwise_", name, ".json")))
}
fit <- lavCor(d[items], ordered = items, missing = "pairwise", se = "standard", output = "fit")
write_cor("lavcor", fit, items)
v <- c(paste0("y", 1:5), "x")
fit <- lavCor(d[v], ordered = paste0("y", 1:5), missing = "pairwise", se = "standard",
              output = "fit")
write_cor("lavcor_mixed", fit, v)
v2 <- c(paste0("y", 1:3), "x", "x2")
fit <- lavCor(d[v2], ordered = paste0("y", 1:3), missing = "pairwise", se = "standard",
              output = "fit")
write_cor("lavcor_two", fit, v2)
