# Reference values for connection/context.py (tests/test_context.py).
# Re-run from the repository root: Rscript tests/references/make_context_references.R
# Base R only (stats): prop.test / binom.test / cor.test.
out <- "tests/references/context"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
fmt <- function(x) trimws(formatC(x, digits = 15, format = "g"))

# one proportion: Wilson (prop.test without continuity correction) and exact (binom.test)
one <- expand.grid(x = c(0L, 1L, 7L, 45L, 99L, 100L), n = 100L)
one <- rbind(one, data.frame(x = c(871L, 440L, 3L, 35L), n = c(1300L, 1056L, 132L, 132L)))
rows <- lapply(seq_len(nrow(one)), function(i) {
  x <- one$x[i]; n <- one$n[i]
  w <- suppressWarnings(prop.test(x, n, correct = FALSE, conf.level = 0.95)$conf.int)
  w90 <- suppressWarnings(prop.test(x, n, correct = FALSE, conf.level = 0.90)$conf.int)
  e <- binom.test(x, n, conf.level = 0.95)$conf.int
  data.frame(x = x, n = n, wilson_lower = fmt(w[1]), wilson_upper = fmt(w[2]),
             wilson90_lower = fmt(w90[1]), wilson90_upper = fmt(w90[2]),
             exact_lower = fmt(e[1]), exact_upper = fmt(e[2]))
})
write.csv(do.call(rbind, rows), file.path(out, "one_proportion.csv"), row.names = FALSE,
          quote = FALSE)

# two independent proportions: pooled z-test (prop.test X-squared = z^2) and Wald interval
two <- data.frame(x1 = c(348L, 871L, 60L, 5L), n1 = c(1056L, 1300L, 100L, 40L),
                  x2 = c(211L, 36L, 45L, 9L), n2 = c(329L, 132L, 90L, 35L))
rows <- lapply(seq_len(nrow(two)), function(i) {
  r <- two[i, ]
  t <- suppressWarnings(prop.test(c(r$x1, r$x2), c(r$n1, r$n2), correct = FALSE))
  z <- sign(r$x1 / r$n1 - r$x2 / r$n2) * sqrt(unname(t$statistic))
  data.frame(r, z = fmt(z), pvalue = fmt(t$p.value), wald_lower = fmt(t$conf.int[1]),
             wald_upper = fmt(t$conf.int[2]))
})
write.csv(do.call(rbind, rows), file.path(out, "two_proportions.csv"), row.names = FALSE,
          quote = FALSE)

# Kendall's tau between rank orders (exact p-value for untied orders, as cor.test does)
a <- 1:12
b <- c(2, 1, 4, 3, 6, 5, 12, 7, 8, 11, 9, 10)
c2 <- c(12, 10, 11, 9, 8, 7, 6, 5, 1, 4, 2, 3)
d <- c(1, 3, 2, 5, 4, 6)
rows <- list(
  data.frame(case = "near", tau = fmt(cor.test(a, b, method = "kendall")$estimate),
             pvalue = fmt(cor.test(a, b, method = "kendall")$p.value)),
  data.frame(case = "reversed", tau = fmt(cor.test(a, c2, method = "kendall")$estimate),
             pvalue = fmt(cor.test(a, c2, method = "kendall")$p.value)),
  data.frame(case = "six", tau = fmt(cor.test(1:6, d, method = "kendall")$estimate),
             pvalue = fmt(cor.test(1:6, d, method = "kendall")$p.value))
)
write.csv(do.call(rbind, rows), file.path(out, "kendall.csv"), row.names = FALSE, quote = FALSE)
cat(R.version.string, "\n")

# IBM 2011, the 12 reasons consumers interact with companies via social sites (consumers vs
# executives; percentages and per-item n as in connection/published/published_figures.csv).
# Pooled two-proportion z-test by formula (the published percentages imply non-integer counts),
# Holm's adjustment with p.adjust, and Kendall's tau-b of the two orders with cor.test (ties:
# normal approximation with the tie-corrected variance).
ibm <- data.frame(
  item = c("get discounts", "purchase", "read reviews and product rankings",
           "general information", "exclusive information", "learn about new products",
           "submit opinions on current products / services", "customer service",
           "event participation", "feel connected", "submit ideas for new products / services",
           "be part of a community"),
  consumers = c(61, 55, 53, 53, 52, 51, 49, 37, 34, 33, 30, 22) / 100,
  marketers = c(60, 60, 67, 71, 68, 73, 69, 63, 61, 64, 63, 61) / 100,
  n_consumers = 1056,
  n_marketers = c(331, 334, 333, 336, 333, 333, 334, 331, 332, 331, 332, 329))
pooled <- with(ibm, (consumers * n_consumers + marketers * n_marketers) /
                    (n_consumers + n_marketers))
z <- with(ibm, (consumers - marketers) /
               sqrt(pooled * (1 - pooled) * (1 / n_consumers + 1 / n_marketers)))
p <- 2 * pnorm(-abs(z))
ibm_out <- data.frame(item = ibm$item, consumers = fmt(ibm$consumers),
                      marketers = fmt(ibm$marketers), n_consumers = ibm$n_consumers,
                      n_marketers = ibm$n_marketers, z = fmt(z), pvalue = fmt(p),
                      pvalue_holm = fmt(p.adjust(p, method = "holm")))
write.csv(ibm_out, file.path(out, "ibm_reasons.csv"), row.names = FALSE)
kt <- cor.test(ibm$consumers, ibm$marketers, method = "kendall", exact = FALSE)
write.csv(data.frame(tau_b = fmt(kt$estimate), z = fmt(kt$statistic), pvalue = fmt(kt$p.value)),
          file.path(out, "ibm_kendall.csv"), row.names = FALSE, quote = FALSE)
