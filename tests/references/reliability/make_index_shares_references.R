# Weighted segment shares (issue 15) for ConnectionIndex.shares: survey 4.1.1 svymean / svyby on
# svydesign(ids = ~1, weights = ~w). Reads index_shares_data.csv (make_index_shares_data.py).
# Re-run: Rscript tests/references/reliability/make_index_shares_references.R
suppressMessages({library(survey); library(jsonlite)})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "index_shares_data.csv"))
lev <- c("unconnected", "highly_satisfied", "perceives_differentiation", "fully_connected")
d$segment <- factor(d$segment, levels = lev)
des <- svydesign(ids = ~1, weights = ~w, data = d)
m <- svymean(~segment, des)
by <- svyby(~segment, ~g, des, svymean)
out <- list(overall = list(category = lev, estimate = unname(coef(m)), se = unname(SE(m))),
            by_group = list(g = by$g,
                            estimate = unname(as.matrix(by[, paste0("segment", lev)])),
                            se = unname(as.matrix(by[, paste0("se.segment", lev)]))),
            versions = list(R = R.version.string, survey = as.character(packageVersion("survey"))))
writeLines(toJSON(out, digits = NA, pretty = TRUE), file.path(here, "index_shares.json"))
