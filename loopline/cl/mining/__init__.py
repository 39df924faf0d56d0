"""Error mining: `Candidates` worth labeling, the built-in miners over inference records, and
likely label errors in training data (confident learning)."""
