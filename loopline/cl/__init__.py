"""Continuous learning: datasets, regression tests, the model registry, the inference log,
mining, labeling, schedules and the loop that ties them together, one subpackage per concept.

This layer sits above the engine and the stores; its public face is re-exported by `loopline`,
`loopline.models`, `loopline.inferences`, `loopline.miners` and `loopline.labeling`. Inside it,
`store` is below everything and `loop` above everything (see docs/architecture.md).
"""
