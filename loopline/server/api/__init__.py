"""The JSON API under /api/v1: one router per resource (runs, logs, actions, artifacts, pipelines,
events, datasets, models, reports, schedules, inferences, labeling, loops); `create_app` includes them."""
