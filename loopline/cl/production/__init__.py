"""The inference log: production predictions and feedback, checked, batched into sinks (the
workspace or a server), ingested from REST, and read back as columns (`InferenceTable`)."""
