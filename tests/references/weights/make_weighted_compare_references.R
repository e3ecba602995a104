# Reference values for weighted compare() (tests/test_weighted_compare.py): domain means and
# proportions by group with linearization SEs (survey::svyby(..., svymean, na.rm = TRUE,
# covmat = TRUE) on svydesign(ids = ~1, weights = ~w, data)), the difference a - b with its SE
# (svycontrast(by, c(A = 1, B = -1))), the ratio a / b with its delta-method SE
# (svycontrast(by, quote(A / B))), and the domain variances (svyby(..., svyvar) on the rows
# with a value).
#
# Data (simulated, set.seed(1515)): 400 respondents in groups A, B and C (C is in the design but
# compared with nobody), a 0-10 score with 25 missing, a 0/1 flag with 15 missing, and weights
# from Uniform(0.25, 4). The design is all 400 rows: group and missing-value domains keep n = 400.
#
# Run: cd tests/references/weights && Rscript make_weighted_compare_references.R
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
set.seed(1515)
n <- 400
g <- sample(c("A", "B", "C"), n, replace = TRUE, prob = c(0.4, 0.4, 0.2))
score <- pmin(10, pmax(0, round(rnorm(n, ifelse(g == "A", 7.2, 7.0), 1.6))))
score[sample(n, 25)] <- NA
flag <- as.numeric(runif(n) < ifelse(g == "A", 0.45, 0.3))
flag[sample(n, 15)] <- NA
w <- runif(n, 0.25, 4)
d <- data.frame(g = g, score = score, flag = flag, top = as.numeric(score >= 9), w = w)
des <- svydesign(ids = ~1, weights = ~w, data = d)

domain <- function(variable) {
  f <- as.formula(paste("~", variable))
  # covmat = TRUE fails with na.rm = TRUE in survey 4.1: the missing values are a domain of
  # their own (subset keeps the design's n), and the SEs are checked against na.rm = TRUE
  sub <- subset(des, !is.na(d[[variable]]))
  by <- svyby(f, ~g, sub, svymean, covmat = TRUE)
  check <- svyby(f, ~g, des, svymean, na.rm = TRUE)
  stopifnot(isTRUE(all.equal(unname(SE(by)), unname(SE(check)), tolerance = 1e-12)),
            isTRUE(all.equal(unname(coef(by)), unname(coef(check)), tolerance = 1e-12)))
  diff <- svycontrast(by, c(A = 1, B = -1))
  ratio <- svycontrast(by, quote(A / B))
  # svyvar on the rows with a value (svyvar(na.rm = TRUE) counts the missing rows in its
  # n / (n - 1); compare() uses the respondents with a value, as this does)
  v <- svyby(f, ~g, sub, svyvar)
  list(variable = variable,
       estimate = as.list(setNames(coef(by), by$g)),
       se = as.list(setNames(SE(by), by$g)),
       variance = as.list(setNames(coef(v), v$g)),
       difference = unname(coef(diff)), difference_se = unname(SE(diff)),
       ratio = unname(coef(ratio)), ratio_se = unname(SE(ratio)))
}

out <- list(data = d, results = lapply(c("score", "flag", "top"), domain),
            versions = list(survey = as.character(packageVersion("survey"))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"),
           "weighted_compare_references.json")
