# Reference values for tests/test_nps.py (R 4.2, survey, jsonlite).
# A seeded sample of a 0-10 recommendation item with survey weights and a region; the weighted
# NPS (mean of +1 promoter / 0 passive / -1 detractor) and its linearized SE from
# survey::svymean on svydesign(ids = ~1, weights = ~w), overall and by region (svyby).
# Re-run: Rscript tests/references/nps/make_nps_references.R
library(survey)
library(jsonlite)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
set.seed(20261204)
n <- 400
region <- sample(c("north", "south", "west"), n, replace = TRUE)
recommend <- sample(0:10, n, replace = TRUE,
                    prob = c(2, 1, 1, 2, 2, 4, 5, 10, 14, 16, 15))
w <- round(runif(n, 0.3, 3), 3)
d <- data.frame(recommend, region, w)
d$score <- ifelse(d$recommend >= 9, 1, ifelse(d$recommend <= 6, -1, 0))
des <- svydesign(ids = ~1, weights = ~w, data = d)
all <- svymean(~score, des)
by <- svyby(~score, ~region, des, svymean)
out <- list(
  data = list(recommend = d$recommend, region = d$region, w = d$w),
  overall = list(mean = as.numeric(coef(all)), se = as.numeric(SE(all))),
  by_region = list(region = as.character(by$region), mean = as.numeric(by$score),
                   se = as.numeric(by$se))
)
write_json(out, file.path(here, "nps_weighted.json"), digits = NA, pretty = TRUE,
           auto_unbox = TRUE)
