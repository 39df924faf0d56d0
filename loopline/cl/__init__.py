"""Continuous learning: datasets, scenarios, regression tests, the model registry, schedules.

This layer sits above the engine and the stores. Its public face is re-exported by `loopline`
(`Dataset`, `Scenario`, `regression_test`, `RegressionReport`) and `loopline.models`.
"""
