#!/usr/bin/env Rscript
# Reference values for connection.measurement._reliability (and the extra invariance cases) from
# psych / semTools / lavaan / GPArotation. R is only a reference GENERATOR: the outputs in
# psych/ are committed and the Python tests read them; tests never call R.
#
# Input: data/HolzingerSwineford1939.csv and data/PoliticalDemocracy.csv beside this script
#        (copies of lavaan's datasets; see README.md in this folder).
# Output: psych/*.csv and psych/*.json beside this script.
# Usage:  Rscript tests/references/make_reliability_references.R
#         (Debian: r-base-core r-cran-lavaan r-cran-semtools r-cran-psych r-cran-gparotation r-cran-jsonlite)
suppressPackageStartupMessages({
  library(lavaan); library(semTools); library(psych); library(GPArotation); library(jsonlite)
})
here <- function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  normalizePath(dirname(f))
}
root <- here()
din  <- file.path(root, "data")
dout <- file.path(root, "psych")
dir.create(dout, showWarnings = FALSE, recursive = TRUE)
rd <- function(name) read.csv(file.path(din, paste0(name, ".csv")), stringsAsFactors = FALSE)
versions <- list(
  R = R.version.string,
  lavaan = as.character(packageVersion("lavaan")),
  semTools = as.character(packageVersion("semTools")),
  psych = as.character(packageVersion("psych")),
  GPArotation = as.character(packageVersion("GPArotation"))
)
wcsv <- function(df, file) {
  write.csv(df, file.path(dout, file), row.names = FALSE, na = "")
  cat("wrote", file.path("psych", file), "\n")
}
wjson <- function(x, file) {
  write_json(x, file.path(dout, file), auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null")
  cat("wrote", file.path("psych", file), "\n")
}

datasets <- list(
  hs = list(data = rd("HolzingerSwineford1939"),
            constructs = list(visual = c("x1", "x2", "x3"), textual = c("x4", "x5", "x6"),
                              speed = c("x7", "x8", "x9"))),
  poldem = list(data = rd("PoliticalDemocracy"),
                constructs = list(ind60 = c("x1", "x2", "x3"), dem60 = c("y1", "y2", "y3", "y4"),
                                  dem65 = c("y5", "y6", "y7", "y8")))
)
model_text <- function(constructs) {
  paste(sprintf("%s =~ %s", names(constructs),
                vapply(constructs, paste, "", collapse = " + ")), collapse = "\n")
}

for (ds in names(datasets)) {
  d <- datasets[[ds]]$data; cs <- datasets[[ds]]$constructs
  ## ---- psych::alpha per construct (raw alpha, Feldt CI, alpha if dropped, item-rest r)
  tot <- list(); items <- list()
  for (cn in names(cs)) {
    x <- d[, cs[[cn]]]
    a <- suppressWarnings(psych::alpha(x))
    tot[[cn]] <- data.frame(construct = cn, n = nrow(x), n_items = ncol(x),
                            alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha,
                            average_r = a$total$average_r, ase = a$total$ase,
                            feldt_lower = as.numeric(unlist(a$feldt$lower.ci)),
                            feldt_upper = as.numeric(unlist(a$feldt$upper.ci)))
    items[[cn]] <- data.frame(construct = cn, item = rownames(a$alpha.drop),
                              alpha_if_deleted = a$alpha.drop$raw_alpha,
                              r_drop = a$item.stats$r.drop, raw_r = a$item.stats$raw.r,
                              mean = a$item.stats$mean, sd = a$item.stats$sd)
  }
  wcsv(do.call(rbind, tot), paste0(ds, "_alpha.csv"))
  wcsv(do.call(rbind, items), paste0(ds, "_alpha_items.csv"))

  ## ---- omega / CR / AVE: one-factor CFA per construct, and one joint CFA
  rows <- list()
  for (cn in names(cs)) {
    m1 <- sprintf("%s =~ %s", cn, paste(cs[[cn]], collapse = " + "))
    f1 <- cfa(m1, data = d)
    std <- standardizedSolution(f1)
    lam <- std$est.std[std$op == "=~"]
    rows[[cn]] <- data.frame(construct = cn, fit = "separate",
                             omega = compRelSEM(f1, obs.var = FALSE)[[cn]],
                             omega_obs_var = compRelSEM(f1, obs.var = TRUE)[[cn]],
                             ave = AVE(f1)[[cn]],
                             cr_std = sum(lam)^2 / (sum(lam)^2 + sum(1 - lam^2)))
  }
  fj <- cfa(model_text(cs), data = d)
  stdj <- standardizedSolution(fj)
  om <- compRelSEM(fj, obs.var = FALSE); omo <- compRelSEM(fj, obs.var = TRUE); av <- AVE(fj)
  for (cn in names(cs)) {
    lam <- stdj$est.std[stdj$op == "=~" & stdj$lhs == cn]
    rows[[paste0(cn, "_joint")]] <- data.frame(construct = cn, fit = "joint", omega = om[[cn]],
                                               omega_obs_var = omo[[cn]], ave = av[[cn]],
                                               cr_std = sum(lam)^2 / (sum(lam)^2 + sum(1 - lam^2)))
  }
  wcsv(do.call(rbind, rows), paste0(ds, "_omega_cr_ave.csv"))
  ## factor correlations of the joint CFA (Fornell-Larcker off-diagonal)
  fc <- stdj[stdj$op == "~~" & stdj$lhs != stdj$rhs & stdj$lhs %in% names(cs), c("lhs", "rhs", "est.std")]
  wcsv(fc, paste0(ds, "_factor_correlations.csv"))

  ## ---- HTMT (Henseler et al. 2015, arithmetic means) and HTMT2 (geometric means)
  for (h2 in c(FALSE, TRUE)) {
    h <- htmt(model_text(cs), data = d, htmt2 = h2)
    hl <- as.data.frame(as.table(as.matrix(h)))
    names(hl) <- c("row", "col", "htmt")
    hl <- hl[as.character(hl$row) != as.character(hl$col) & !is.na(hl$htmt) & hl$htmt != 0, ]
    wcsv(hl, paste0(ds, if (h2) "_htmt2.csv" else "_htmt.csv"))
  }
}

## ---- EFA on HS x1-x9: ML extraction, oblimin (quartimin) rotation; and parallel analysis
hs <- datasets$hs$data[, paste0("x", 1:9)]
for (rot in c("oblimin", "promax", "varimax")) {
  fa3 <- fa(hs, nfactors = 3, fm = "ml", rotate = rot)
  L <- unclass(fa3$loadings)
  out <- data.frame(item = rownames(L), L, communality = fa3$communality, check.names = FALSE)
  wcsv(out, sprintf("hs_efa_ml_%s_loadings.csv", rot))
  if (!is.null(fa3$Phi)) {
    wcsv(data.frame(factor = colnames(fa3$Phi), fa3$Phi, check.names = FALSE),
         sprintf("hs_efa_ml_%s_phi.csv", rot))
  }
}
fa_unrot <- fa(hs, nfactors = 3, fm = "ml", rotate = "none")
wjson(list(versions = versions, chisq_statistic = fa_unrot$STATISTIC, dof = fa_unrot$dof,
           objective = fa_unrot$objective, uniquenesses = as.list(fa_unrot$uniquenesses),
           note = "psych::fa(hs[x1..x9], nfactors=3, fm='ml'); STATISTIC uses psych's Bartlett-corrected n"),
      "hs_efa_ml_fit.json")
set.seed(20261122)
pa <- fa.parallel(hs, fm = "ml", fa = "both", n.iter = 200, plot = FALSE)
wjson(list(versions = versions, pc_values = pa$pc.values, fa_values = pa$fa.values,
           nfact = pa$nfact, ncomp = pa$ncomp,
           note = "psych::fa.parallel(hs[x1..x9], fm='ml', fa='both', n.iter=200) with set.seed(20261122); pc_values are the eigenvalues of the correlation matrix"),
      "hs_parallel.json")

## ---- invariance ladder extras (HS by school): strict step, MLR scaled LRT, partial scalar
d <- datasets$hs$data
m <- model_text(datasets$hs$constructs)
fmn <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr")
fmr <- c(fmn, "chisq.scaled", "df.scaled", "chisq.scaling.factor", "cfi.robust", "rmsea.robust")
steps <- list(configural = character(0), metric = "loadings",
              scalar = c("loadings", "intercepts"),
              strict = c("loadings", "intercepts", "residuals"))
for (est in c("ML", "MLR")) {
  fits <- lapply(steps, function(ge) {
    if (length(ge)) cfa(m, data = d, group = "school", group.equal = ge, estimator = est)
    else cfa(m, data = d, group = "school", estimator = est)
  })
  fm <- do.call(rbind, lapply(names(fits), function(s) {
    v <- fitMeasures(fits[[s]], if (est == "ML") fmn else fmr)
    data.frame(step = s, as.list(setNames(as.numeric(v), names(v))), check.names = FALSE)
  }))
  wcsv(fm, sprintf("hs_mg_school_ladder_%s_fit.csv", tolower(est)))
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar, fits$strict)
  wcsv(data.frame(step = names(steps), as.data.frame(lrt), check.names = FALSE, row.names = NULL),
       sprintf("hs_mg_school_ladder_%s_lrt.csv", tolower(est)))
}
## partial scalar: free the intercept with the largest score test, as lavTestScore flags it
fit_scal <- cfa(m, data = d, group = "school", group.equal = c("loadings", "intercepts"))
sc <- lavTestScore(fit_scal)
pt <- parTable(fit_scal)
uni <- sc$uni
uni$lhs_label <- uni$lhs; uni$rhs_label <- uni$rhs
lab <- function(plabel) { i <- match(plabel, pt$plabel); trimws(paste(pt$lhs[i], pt$op[i], pt$rhs[i])) }
uni$parameter <- lab(uni$lhs)
uni$lhs_group <- pt$group[match(uni$lhs, pt$plabel)]; uni$rhs_group <- pt$group[match(uni$rhs, pt$plabel)]
wcsv(uni[, c("lhs", "op", "rhs", "X2", "df", "p.value", "parameter", "lhs_group", "rhs_group")],
     "hs_mg_school_scalar_score_tests.csv")
fit_ps <- cfa(m, data = d, group = "school", group.equal = c("loadings", "intercepts"),
              group.partial = c("x3~1", "x7~1"))
v <- fitMeasures(fit_ps, fmn)
pe <- parameterEstimates(fit_ps, standardized = TRUE)
lm_ps <- pe[pe$op == "~1" & pe$lhs %in% names(datasets$hs$constructs), c("lhs", "group", "est", "se", "z", "pvalue")]
wjson(list(versions = versions, group_partial = c("x3~1", "x7~1"),
           fit = as.list(v), latent_means = lapply(seq_len(nrow(lm_ps)), function(i) as.list(lm_ps[i, ])),
           note = "cfa(hs_model, group='school', group.equal=c('loadings','intercepts'), group.partial=c('x3~1','x7~1'))"),
      "hs_mg_school_partial_scalar.json")
wjson(list(versions = versions, note = "written by make_reliability_references.R"), "versions.json")
cat("done\n")
