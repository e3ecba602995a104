# Reference values for tests/test_importance_relative_weights.py (R 4.2, base R + jsonlite).
# Writes mtcars.json: the mtcars columns the published relative-weights example uses, and the
# published numbers themselves, typed in from their sources (cited below); R computes nothing
# here, so the test compares the package with the published values, not with this script.
# Re-run: Rscript tests/references/importance/make_importance_references.R
library(jsonlite)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- mtcars[, c("mpg", "cyl", "disp", "hp", "wt")]
out <- list(
  data = as.list(d),
  rwa_mtcars = list(
    source = paste("rwa (Martin Chan) vignette 'Regression Methods: Multiple and Logistic RWA',",
                   "rwa_multiregress(mtcars, 'mpg', c('cyl','disp','hp','wt'));",
                   "https://martinctc.github.io/rwa/articles/regression-methods.html"),
    outcome = "mpg", drivers = c("cyl", "disp", "hp", "wt"),
    raw = c(0.2096904, 0.1883043, 0.1799590, 0.2706812),
    rescaled = c(24.70914, 22.18908, 21.20570, 31.89607),
    r2 = 0.8486, digits_raw = 7, digits_rescaled = 5),
  iopsych_relwt = list(
    source = paste("iopsych 0.90.1 relWt() help-page example (Jones & Goebl);",
                   "https://rdrr.io/cran/iopsych/man/relWt.html"),
    r = matrix(c(1.0, 0.2,  0.3, 0.4, -0.4,
                 0.2, 1.0,  0.5, 0.1,  0.1,
                 0.3, 0.5,  1.0, 0.2, -0.3,
                 0.4, 0.1,  0.2, 1.0,  0.4,
                -0.4, 0.1, -0.3, 0.4,  1.0), 5, 5),
    y_col = 5, x_col = 1:4,
    eps = c(0.24066119, 0.05492664, 0.12143476, 0.28158189), digits = 8)
)
write_json(out, file.path(here, "relative_weights.json"), digits = NA, pretty = TRUE, auto_unbox = TRUE)
