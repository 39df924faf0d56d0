"""Schedules: pipelines that run by themselves on a cron (in a time zone) or when a dataset
grows; the scheduler, its per-firing worker process, and the target check."""
