# Weighted drivers() references: survey::svyglm on svydesign(ids=~1, weights=~w) (and
# ids=~cl for the cluster design), gaussian and quasibinomial, on weighted z-scored variables.
# Writes weighted_drivers_sim.csv and weighted_drivers_references.json (survey 4.1.1).
# Re-run: cd tests/references/drivers && Rscript make_weighted_drivers_references.R
suppressPackageStartupMessages({library(survey); library(jsonlite)})
set.seed(20261204)
n <- 400
x1 <- rnorm(n); x2 <- 0.5 * x1 + rnorm(n, sd = 0.9); x3 <- 0.3 * x2 + rnorm(n)
age <- round(rnorm(n, 45, 12))
cl <- sample(1:40, n, replace = TRUE)
w <- round(exp(rnorm(n, 0, 0.5)) * (1 + 0.5 * (x1 > 0)), 4)
y <- 0.5 * x1 + 0.3 * x2 + 0.1 * x3 + 0.01 * age + rnorm(n)
yb <- as.integer(runif(n) < plogis(-0.3 + 0.8 * x1 + 0.4 * x2 + 0.01 * (age - 45)))
yo <- as.integer(cut(0.7 * x1 + 0.4 * x2 + rlogis(n), c(-Inf, -1, 0, 1, Inf)))
d <- data.frame(x1, x2, x3, age, cl, w, y, yb, yo)
write.csv(d, "weighted_drivers_sim.csv", row.names = FALSE)

des <- svydesign(ids = ~1, weights = ~w, data = d)
zs <- function(v, des) {   # weighted z-score: svymean / svyvar (n/(n-1) * weighted variance)
  f <- as.formula(paste0("~", v))
  m <- coef(svymean(f, des)); s <- sqrt(coef(svyvar(f, des)))
  c(mean = unname(m), sd = unname(s))
}
sds <- sapply(c("x1", "x2", "x3", "age", "y"), function(v) zs(v, des))
std <- d
for (v in colnames(sds)) std[[v]] <- (d[[v]] - sds["mean", v]) / sds["sd", v]

fit_one <- function(formula, data, family, ids = ~1) {
  des <- svydesign(ids = ids, weights = ~w, data = data)
  # tight IRLS convergence (glm.control), so that the reference is the converged optimum
  f <- svyglm(formula, design = des, family = family,
              control = glm.control(epsilon = 1e-13, maxit = 100))
  s <- summary(f)$coefficients
  ci <- confint(f, level = 0.95)
  list(terms = rownames(s), estimate = unname(s[, 1]), se = unname(s[, 2]),
       statistic = unname(s[, 3]), pvalue = unname(s[, 4]), df = f$df.residual,
       ci_lower = unname(ci[, 1]), ci_upper = unname(ci[, 2]))
}
stdx <- std; stdx$yb <- d$yb
out <- list(
  sds = as.list(as.data.frame(sds)),
  ols_std = fit_one(y ~ x1 + x2 + x3 + age, std, gaussian()),
  ols_raw = fit_one(y ~ x1 + x2 + x3 + age, d, gaussian()),
  logit_std = fit_one(yb ~ x1 + x2 + x3 + age, stdx, quasibinomial()),
  logit_raw = fit_one(yb ~ x1 + x2 + x3 + age, d, quasibinomial()),
  ols_std_cluster = fit_one(y ~ x1 + x2 + x3 + age, std, gaussian(), ids = ~cl),
  logit_std_cluster = fit_one(yb ~ x1 + x2 + x3 + age, stdx, quasibinomial(), ids = ~cl)
)
# ordinal: svyolr (proportional-odds logit), coefficients and linearization SEs of the drivers
olr <- function(ids) {
  des <- svydesign(ids = ids, weights = ~w, data = stdx)
  f <- svyolr(factor(yo) ~ x1 + x2 + x3 + age, design = des,
              control = list(reltol = 1e-15, maxit = 1000))  # passed to optim: converged
  b <- coef(f)[c("x1", "x2", "x3", "age")]
  list(terms = names(b), estimate = unname(b),
       se = unname(sqrt(diag(vcov(f)))[c("x1", "x2", "x3", "age")]))
}
stdx$yo <- d$yo
out$ordinal_std <- olr(~1)
out$ordinal_std_cluster <- olr(~cl)
# all weights 1: the design-based (linearization) SEs of the unweighted fit
d1 <- std; d1$w <- 1; d1$yb <- d$yb
d1$y <- (d$y - mean(d$y)) / sd(d$y)
for (v in c("x1", "x2", "x3", "age")) d1[[v]] <- (d[[v]] - mean(d[[v]])) / sd(d[[v]])
out$ols_unit_weights <- fit_one(y ~ x1 + x2 + x3 + age, d1, gaussian())
out$logit_unit_weights <- fit_one(yb ~ x1 + x2 + x3 + age, d1, quasibinomial())
out$meta <- list(survey = as.character(packageVersion("survey")), R = R.version.string, n = n)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "weighted_drivers_references.json")
