#!/usr/bin/env Rscript
# What R's reliability functions report for one-factor fits with a Heywood case (a negative residual
# variance). Evidence for connection.measurement._reliability's handling of inadmissible fits (issue 11).
# R is only a reference GENERATOR: the output is committed and the tests read it.
#
# Input:  reliability/heywood_sim.csv (written by make_heywood_data.py, this folder)
# Output: reliability/heywood_semtools_psych.json
# Usage:  Rscript tests/references/make_heywood_references.R
suppressPackageStartupMessages({ library(lavaan); library(semTools); library(psych); library(jsonlite) })
here <- function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  normalizePath(dirname(f))
}
root <- here()
d <- read.csv(file.path(root, "reliability", "heywood_sim.csv"))
cs <- list(hey = c("h1", "h2", "h3"), hey2 = c("k1", "k2", "k3"), good = c("g1", "g2", "g3"))
catch <- function(expr) {  # value plus every warning text
  w <- character(0)
  v <- withCallingHandlers(tryCatch(expr, error = function(e) paste("ERROR:", conditionMessage(e))),
                           warning = function(m) { w <<- c(w, conditionMessage(m)); invokeRestart("muffleWarning") })
  list(value = v, warnings = w)
}
out <- list()
for (cn in names(cs)) {
  m1 <- sprintf("%s =~ %s", cn, paste(cs[[cn]], collapse = " + "))
  f <- catch(cfa(m1, data = d))
  fit <- f$value
  pe <- parameterEstimates(fit)
  std <- standardizedSolution(fit)
  lam <- std$est.std[std$op == "=~"]
  om <- catch(compRelSEM(fit, obs.var = FALSE))
  av <- catch(AVE(fit))
  ps <- catch(psych::omega(d[, cs[[cn]]], nfactors = 1, fm = "ml", plot = FALSE))
  out[[cn]] <- list(
    lavaan_converged = lavInspect(fit, "converged"),
    lavaan_post_check = catch(lavInspect(fit, "post.check"))$value,
    lavaan_warnings = f$warnings,
    residual_variances = setNames(as.list(pe$est[pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs %in% cs[[cn]]]),
                                  cs[[cn]]),
    std_loadings = setNames(as.list(lam), cs[[cn]]),
    compRelSEM_omega = unname(om$value[[cn]]), compRelSEM_warnings = om$warnings,
    AVE = unname(av$value[[cn]]), AVE_warnings = av$warnings,
    cr_std = sum(lam)^2 / (sum(lam)^2 + sum(1 - lam^2)),
    psych_omega_total = ps$value$omega.tot, psych_alpha = ps$value$alpha,
    psych_omega_warnings = ps$warnings
  )
}
versions <- list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")),
                 semTools = as.character(packageVersion("semTools")),
                 psych = as.character(packageVersion("psych")))
write_json(list(versions = versions, constructs = out,
                note = "one-factor cfa() per construct (ML); compRelSEM(obs.var = FALSE), AVE(), psych::omega(nfactors = 1, fm = 'ml')"),
           file.path(root, "reliability", "heywood_semtools_psych.json"),
           auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null")
cat("wrote reliability/heywood_semtools_psych.json\n")
