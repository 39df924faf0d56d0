"""Loopline's benchmarks (issue 2): orchestration overhead, payloads, caching, scaling and
parallelism, measured side by side with Sematic 0.41.0 in the same run.

`python -m benchmarks.run_all` (or `make bench`) runs everything and writes
`benchmarks/RESULTS.md`; each module also runs alone (`python -m benchmarks.overhead --help`).
Not part of `make test`, and never timed assertions inside the unit tests.
"""
