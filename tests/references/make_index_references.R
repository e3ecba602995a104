# Reference factor scores for tests/test_index.py (connection.measurement._index.ConnectionIndex).
# Input: index/attachment_sim.csv (400 simulated answers to the default instrument's ten
# attachment adjectives, 1-7; written by make_index_data.py in this folder).
# Output: index/attachment_scores.csv, lavPredict regression scores of the second-order model
# (meanstructure = FALSE, so scores are centred on the sample means), and
# index/attachment_fit.json (fit measures), with lavaan 0.6.x.
# Run from tests/references:  Rscript make_index_references.R
suppressMessages(library(lavaan))
suppressMessages(library(jsonlite))
d <- read.csv("index/attachment_sim.csv")
model <- '
affection =~ att_affectionate + att_friendly + att_loved + att_peaceful
passion =~ att_passionate + att_delighted + att_captivated
bonding =~ att_connected + att_bonded + att_attached
attachment =~ affection + passion + bonding
'
fit <- cfa(model, data = d)
fs <- lavPredict(fit, method = "regression")
out <- data.frame(row = seq_len(nrow(fs)), as.data.frame(fs))
write.csv(out, "index/attachment_scores.csv", row.names = FALSE)
one <- cfa('attachment =~ att_affectionate + att_friendly + att_loved + att_peaceful + att_passionate + att_delighted + att_captivated + att_connected + att_bonded + att_attached', data = d)
fs1 <- lavPredict(one, method = "regression")
fb1 <- lavPredict(one, method = "Bartlett")
write.csv(data.frame(row = seq_len(nrow(fs1)), regression = fs1[, 1], bartlett = fb1[, 1]),
          "index/attachment_onefactor_scores.csv", row.names = FALSE)
fm <- fitMeasures(fit, c("chisq", "df", "cfi", "tli", "rmsea", "srmr"))
writeLines(toJSON(as.list(fm), digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "index/attachment_fit.json")
cat("lavaan", as.character(packageVersion("lavaan")), "\n")
