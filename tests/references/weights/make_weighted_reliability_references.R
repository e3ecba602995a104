# Reference values for weighted reliability and HTMT (tests/test_weighted_reliability.py):
# the weighted covariance matrix of survey::svyvar on svydesign(ids = ~1, weights = ~w), and
# Cronbach's alpha and HTMT computed from it by their formulas (HTMT also by semTools::htmt
# given that matrix as sample.cov).
#
# Data: lavaan's HolzingerSwineford1939 (x1-x9, 301 pupils) with weights w drawn with
# set.seed(15) from Uniform(0.3, 3), and x2 missing in rows 5, 40 and 41 (listwise deletion:
# each construct is estimated on its complete rows, as its own sample).
#
# Run: cd tests/references/weights && Rscript make_weighted_reliability_references.R
suppressPackageStartupMessages({
  library(survey)
  library(lavaan)
  library(semTools)
  library(jsonlite)
})
data(HolzingerSwineford1939)
d <- HolzingerSwineford1939[, paste0("x", 1:9)]
set.seed(15)
d$w <- runif(nrow(d), 0.3, 3)
d$x2[c(5, 40, 41)] <- NA
scales <- list(visual = c("x1", "x2", "x3"), textual = c("x4", "x5", "x6"),
               speed = c("x7", "x8", "x9"))

alpha_of <- function(S) {
  k <- ncol(S)
  k / (k - 1) * (1 - sum(diag(S)) / sum(S))
}
svy_cov <- function(rows, items) {
  des <- svydesign(ids = ~1, weights = ~w, data = d[rows, ])
  v <- svyvar(as.formula(paste("~", paste(items, collapse = " + "))), des)
  S <- as.matrix(v)
  attr(S, "var") <- NULL
  S <- matrix(as.numeric(S), nrow = length(items), dimnames = list(items, items))
  S
}
kish <- function(w) sum(w)^2 / sum(w^2)

constructs <- list()
for (name in names(scales)) {
  items <- scales[[name]]
  rows <- complete.cases(d[, items])
  S <- svy_cov(rows, items)
  constructs[[name]] <- list(construct = name, n = sum(rows), items = items, cov = S,
                             alpha = alpha_of(S), n_eff = kish(d$w[rows]))
}

# HTMT: listwise over all items; from the weighted correlation matrix
all_items <- unlist(scales)
rows <- complete.cases(d[, all_items])
S <- svy_cov(rows, all_items)
R <- cov2cor(S)
model <- paste(sapply(names(scales), function(n) paste(n, "=~", paste(scales[[n]], collapse = " + "))),
               collapse = "\n")
h1 <- semTools::htmt(model, sample.cov = S, htmt2 = FALSE)
h2 <- semTools::htmt(model, sample.cov = S, htmt2 = TRUE)
pairs <- list()
nm <- names(scales)
for (a in 1:2) for (b in (a + 1):3) {
  pairs[[length(pairs) + 1]] <- list(construct_a = nm[a], construct_b = nm[b],
                                     htmt = h1[nm[b], nm[a]], htmt2 = h2[nm[b], nm[a]])
}

out <- list(data = d, scales = scales, constructs = unname(constructs),
            htmt = list(n = sum(rows), cov = S, pairs = pairs),
            versions = list(survey = as.character(packageVersion("survey")),
                            semTools = as.character(packageVersion("semTools"))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", matrix = "rowmajor"),
           "weighted_reliability_references.json")
