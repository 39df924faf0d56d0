"""Stores on a Loopline server: the SDK, runners, workers and the CLI of a team read and write
through one server over HTTP (`LOOPLINE_SERVER` + `LOOPLINE_API_KEY`)."""
