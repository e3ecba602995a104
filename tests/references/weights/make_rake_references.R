# Reference values for connection.stats._weights.rake (tests/test_rake.py): survey::rake.
#
# Rakes svydesign(ids = ~1, weights = ~w0, data) to population margins with a tight tolerance
# (control = list(epsilon = 1e-13, maxit = 1000): survey's default epsilon = 1 is loose; an
# epsilon below 1 is relative to the sum of the weights), and writes the data, the margins and
# the raked weights of each case to rake_references.json:
#   * apistrat_counts: survey's apistrat (200 schools, stratified by school type) with its
#     sampling weights pw, raked to the population counts of stype and sch.wide in apipop;
#   * apistrat_props: the same schools without base weights, raked to the population shares of
#     stype, sch.wide and awards (totals = share * n, so the weights sum to n);
#   * simulated: 600 respondents drawn with unequal probabilities (women, the young and the
#     north over-represented), raked to shares of gender, age group and region;
#   * simulated_trim: the raked weights of `simulated` trimmed by
#     trimWeights(lower = 0.5, upper = 2, strict = TRUE);
#   * simulated_maxit2: `simulated` stopped after 2 sweeps (rake warns that it did not converge).
#
# Run: cd tests/references/weights && Rscript make_rake_references.R
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
data(api)

margin_frame <- function(var, levels, totals) {
  f <- data.frame(levels, as.numeric(totals))
  names(f) <- c(var, "Freq")
  f
}

rake_case <- function(data, w0, margins, maxit = 1000, epsilon = 1e-13, trim = NULL) {
  data$w0 <- w0
  design <- svydesign(ids = ~1, weights = ~w0, data = data)
  sample_margins <- lapply(names(margins), function(v) as.formula(paste("~", v)))
  population_margins <- lapply(names(margins), function(v)
    margin_frame(v, names(margins[[v]]), unlist(margins[[v]])))
  converged <- TRUE
  raked <- withCallingHandlers(
    rake(design, sample_margins, population_margins,
         control = list(maxit = maxit, epsilon = epsilon)),
    warning = function(w) {
      if (grepl("did not converge", conditionMessage(w))) {
        converged <<- FALSE
        invokeRestart("muffleWarning")
      }
    })
  if (!is.null(trim)) {
    raked <- trimWeights(raked, lower = trim[1], upper = trim[2], strict = TRUE)
  }
  list(weights = unname(weights(raked)), converged = converged, maxit = maxit,
       tol = epsilon, trim = trim)
}

shares <- function(x) {
  t <- table(x)
  as.list(setNames(as.numeric(t) / sum(t), names(t)))
}

out <- list()

# -- apistrat, base weights pw, population counts ---------------------------------------------
api <- apistrat[, c("stype", "sch.wide", "awards")]
api[] <- lapply(api, as.character)
pop_counts <- list(
  stype = as.list(setNames(as.numeric(table(apipop$stype)), names(table(apipop$stype)))),
  sch.wide = as.list(setNames(as.numeric(table(apipop$sch.wide)), names(table(apipop$sch.wide)))))
out$apistrat_counts <- c(list(data = api, base_weights = apistrat$pw, margins = pop_counts),
                         rake_case(api, apistrat$pw, pop_counts))

# -- apistrat, no base weights, population shares (totals = share * n) --------------------------
pop_shares <- list(stype = shares(apipop$stype), sch.wide = shares(apipop$sch.wide),
                   awards = shares(apipop$awards))
n <- nrow(api)
pop_totals <- lapply(pop_shares, function(m) lapply(m, function(p) p * n))
out$apistrat_props <- c(list(data = api, base_weights = NULL, margins = pop_shares),
                        rake_case(api, rep(1, n), pop_totals))

# -- simulated, unbalanced sample, shares -------------------------------------------------------
set.seed(20261204)
N <- 20000
pop <- data.frame(gender = sample(c(1, 2), N, TRUE, c(0.49, 0.51)),
                  age = sample(1:4, N, TRUE, c(0.22, 0.28, 0.27, 0.23)),
                  region = sample(c("north", "south", "east", "west"), N, TRUE,
                                  c(0.3, 0.25, 0.25, 0.2)))
p_in <- with(pop, 0.02 * ifelse(gender == 2, 2, 1) * c(2.5, 1.5, 1, 0.6)[age] *
                  ifelse(region == "north", 1.8, 1))
sim <- pop[sample(N, 600, prob = p_in), ]
rownames(sim) <- NULL
sim_shares <- list(gender = list("1" = 0.49, "2" = 0.51),
                   age = list("1" = 0.22, "2" = 0.28, "3" = 0.27, "4" = 0.23),
                   region = list(north = 0.3, south = 0.25, east = 0.25, west = 0.2))
m <- nrow(sim)
sim_totals <- lapply(sim_shares, function(s) lapply(s, function(p) p * m))
out$simulated <- c(list(data = sim, base_weights = NULL, margins = sim_shares),
                   rake_case(sim, rep(1, m), sim_totals))
out$simulated_trim <- c(list(data = sim, base_weights = NULL, margins = sim_shares),
                        rake_case(sim, rep(1, m), sim_totals, trim = c(0.5, 2)))
out$simulated_maxit2 <- c(list(data = sim, base_weights = NULL, margins = sim_shares),
                          rake_case(sim, rep(1, m), sim_totals, maxit = 2))

out$generated_by <- paste("survey", packageVersion("survey"), "on", R.version.string)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
           "rake_references.json")
