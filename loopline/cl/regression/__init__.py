"""Regression testing: scenarios, metrics, statistics, how a model predicts, the vectorised
evaluation, `regression_test`, the `RegressionReport`, and the CI gate with its notifications."""
