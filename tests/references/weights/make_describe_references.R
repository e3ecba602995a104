# Reference values for connection.stats._describe.describe (tests/test_describe.py): survey's
# svymean, svyby and confint on svydesign(ids = ~1, weights = ~w, data).
#
# Data: survey's apistrat (200 California schools) with its sampling weights pw. Rows of
# describe_references.json "rows": one estimate each (design, group column and group, variable,
# level for a share, estimate, se, confint at 0.95 and 0.90):
#   * design "pw": weighted by pw; means of api00, ell and acs.k3 (acs.k3 is missing for the
#     high schools: svymean(na.rm = TRUE), a domain), shares of stype and awards (svymean on a
#     factor), and per school type (svyby) the same;
#   * design "unweighted": every weight 1 (describe(weights=None));
#   * design "raked": pw raked to the population counts of stype and sch.wide (apipop), as in
#     make_rake_references.R: the calibration-adjusted SEs of svymean/svyby on the raked design.
#
# Run: cd tests/references/weights && Rscript make_describe_references.R
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
data(api)
d <- apistrat[, c("api00", "ell", "acs.k3", "stype", "awards", "sch.wide", "pw")]
d$stype <- as.character(d$stype)
d$awards <- as.character(d$awards)
d$sch.wide <- as.character(d$sch.wide)
d$one <- 1

designs <- list(
  pw = svydesign(ids = ~1, weights = ~pw, data = d),
  unweighted = svydesign(ids = ~1, weights = ~one, data = d))
margins <- list(
  data.frame(stype = names(table(apipop$stype)), Freq = as.numeric(table(apipop$stype))),
  data.frame(sch.wide = names(table(apipop$sch.wide)),
             Freq = as.numeric(table(apipop$sch.wide))))
designs$raked <- rake(designs$pw, list(~stype, ~sch.wide), margins,
                      control = list(maxit = 1000, epsilon = 1e-13))

numeric_vars <- c("api00", "ell", "acs.k3")
factor_vars <- c("stype", "awards")

rows <- list()
add <- function(design, group, group_value, variable, level, est, se, ci95, ci90) {
  rows[[length(rows) + 1]] <<- list(design = design, group = group, group_value = group_value,
                                    variable = variable, level = level, estimate = est, se = se,
                                    ci_lower = ci95[1], ci_upper = ci95[2],
                                    ci_lower_90 = ci90[1], ci_upper_90 = ci90[2])
}

overall <- function(name, des, variable) {
  f <- as.formula(paste("~", variable))
  is_factor <- variable %in% factor_vars
  if (is_factor) f <- as.formula(paste("~ factor(", variable, ")"))
  m <- svymean(f, des, na.rm = TRUE)
  c95 <- confint(m, level = 0.95)
  c90 <- confint(m, level = 0.90)
  labels <- if (is_factor) sort(unique(d[[variable]])) else NA
  for (k in seq_along(coef(m))) {
    add(name, NA, NA, variable, labels[k], unname(coef(m)[k]), unname(SE(m)[k]), c95[k, ],
        c90[k, ])
  }
}

by_group <- function(name, des, variable, group) {
  is_factor <- variable %in% factor_vars
  f <- if (is_factor) as.formula(paste("~ factor(", variable, ")")) else
    as.formula(paste("~", variable))
  b <- svyby(f, as.formula(paste("~", group)), des, svymean, na.rm = TRUE)
  est <- coef(b)
  ses <- as.vector(as.matrix(SE(b)))
  c95 <- confint(b, level = 0.95)
  c90 <- confint(b, level = 0.90)
  labels <- if (is_factor) sort(unique(d[[variable]])) else NA
  groups <- as.character(b[[group]])
  k <- 0
  # coef(svyby) runs over the groups within each statistic
  for (j in seq_along(labels)) {
    for (g in seq_along(groups)) {
      k <- k + 1
      add(name, group, groups[g], variable, labels[j], unname(est[k]), unname(ses[k]),
          c95[k, ], c90[k, ])
    }
  }
}

for (name in names(designs)) {
  for (v in c(numeric_vars, factor_vars)) overall(name, designs[[name]], v)
  for (v in c("api00", "acs.k3", "awards")) by_group(name, designs[[name]], v, "stype")
}

out <- list(data = d, raked_weights = unname(weights(designs$raked)),
            margins = list(stype = as.list(setNames(margins[[1]]$Freq, margins[[1]]$stype)),
                           sch.wide = as.list(setNames(margins[[2]]$Freq, margins[[2]]$sch.wide))),
            rows = rows,
            generated_by = paste("survey", packageVersion("survey"), "on", R.version.string))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
           "describe_references.json")
