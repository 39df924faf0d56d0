"""Labeling: the `LabelingQueue` of tasks made from mined candidates, committing labels into a
new dataset version, and Label Studio's task format."""
