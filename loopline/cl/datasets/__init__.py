"""`Dataset`: named, immutable, versioned collections of examples, and the column-wise helpers
that take, join and fingerprint examples whatever their kind (arrays, DataFrames, lists)."""
