# Reference modification indices of weighted fits (tests/test_weighted_sem.py): lavaan 0.6.14
# modindices() of cfa()/sem() with sampling.weights (MLR by default), on lavaan's
# HolzingerSwineford1939 with the weights of hs_weights.csv (written by
# make_weighted_sem_references.R). The score tests use the weighted information matrix.
#
# Run: cd tests/references/weights && Rscript make_weighted_modindices_references.R
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
stopifnot(packageVersion("lavaan") == "0.6.14")
data(HolzingerSwineford1939)
d <- HolzingerSwineford1939
w <- read.csv("hs_weights.csv")
stopifnot(all(w$id == d$id))
d$w <- w$w

hs3 <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
models <- list(cfa = list(fun = "cfa", model = hs3),
               sem = list(fun = "sem", model = paste(hs3, "speed ~ visual + textual",
                                                     sep = "\n")))
out <- list()
for (name in names(models)) {
  m <- models[[name]]
  fit <- do.call(m$fun, list(model = m$model, data = d, sampling.weights = "w"))
  mi <- modindices(fit, sort. = FALSE)
  out[[name]] <- list(model = m$model, fun = m$fun,
                      modindices = mi[, c("lhs", "op", "rhs", "mi", "epc", "sepc.all")])
}
write_json(out, "weighted_modindices_references.json", digits = NA, pretty = TRUE,
           auto_unbox = TRUE)
