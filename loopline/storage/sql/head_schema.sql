-- The head schema (0008) as the migrations make it in an empty SQLite file.
-- Written by `python -m loopline.storage.sql.head_schema`; do not edit by hand.
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE artifacts (
	id VARCHAR(64) NOT NULL, 
	type_name VARCHAR(512) NOT NULL, 
	size BIGINT NOT NULL, 
	summary JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE code_versions (
	version VARCHAR(64) NOT NULL, 
	source TEXT NOT NULL, 
	docstring TEXT, 
	PRIMARY KEY (version)
);
CREATE TABLE logs (
	seq INTEGER NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	stream VARCHAR(16) NOT NULL, 
	text TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (seq)
);
CREATE INDEX ix_logs_run_seq ON logs (run_id, seq);
CREATE TABLE metrics (
	id INTEGER NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	root_id VARCHAR(64) NOT NULL, 
	name VARCHAR(256) NOT NULL, 
	value FLOAT NOT NULL, 
	step INTEGER, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_metrics_root_id ON metrics (root_id);
CREATE INDEX ix_metrics_run_id ON metrics (run_id);
CREATE TABLE notes (
	id INTEGER NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	author VARCHAR(128) NOT NULL, 
	body TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_notes_run_id ON notes (run_id);
CREATE TABLE runners (
	id VARCHAR(64) NOT NULL, 
	host VARCHAR(256) NOT NULL, 
	pid INTEGER NOT NULL, 
	started_at DATETIME NOT NULL, 
	heartbeat_at DATETIME NOT NULL, 
	stopped_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE TABLE runs (
	id VARCHAR(64) NOT NULL, 
	root_id VARCHAR(64) NOT NULL, 
	parent_id VARCHAR(64), 
	function VARCHAR(512) NOT NULL, 
	name VARCHAR(512) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	ended_at DATETIME, 
	tags JSON NOT NULL, 
	inputs JSON NOT NULL, 
	output_id VARCHAR(64), 
	cache_key VARCHAR(64), 
	cached_from VARCHAR(64), 
	code_version VARCHAR(64) NOT NULL, 
	resources JSON NOT NULL, 
	attempts INTEGER NOT NULL, 
	error JSON, 
	runner_id VARCHAR(64), 
	executor VARCHAR(16) NOT NULL, 
	user VARCHAR(128), 
	git JSON, 
	launch JSON, 
	cancel_requested BOOLEAN DEFAULT 0 NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_runs_created ON runs (created_at, id);
CREATE INDEX ix_runs_function ON runs (function);
CREATE INDEX ix_runs_parent_created ON runs (parent_id, created_at);
CREATE INDEX ix_runs_parent_id ON runs (parent_id);
CREATE INDEX ix_runs_root_id ON runs (root_id);
CREATE INDEX ix_runs_runner_id ON runs (runner_id);
CREATE INDEX ix_runs_state_created ON runs (state, created_at);
CREATE INDEX ix_runs_updated ON runs (updated_at);
CREATE TABLE alias_moves (
	id INTEGER NOT NULL, 
	model VARCHAR(256) NOT NULL, 
	alias VARCHAR(128) NOT NULL, 
	version INTEGER NOT NULL, 
	previous INTEGER, 
	moved_at DATETIME NOT NULL, 
	moved_by VARCHAR(128) NOT NULL, 
	reason TEXT NOT NULL, 
	report_id VARCHAR(64), 
	forced BOOLEAN NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_alias_moves_model_alias ON alias_moves (model, alias, id);
CREATE TABLE dataset_versions (
	name VARCHAR(256) NOT NULL, 
	version INTEGER NOT NULL, 
	artifact_id VARCHAR(64) NOT NULL, 
	size BIGINT NOT NULL, 
	added BIGINT NOT NULL, 
	removed BIGINT NOT NULL, 
	changed BIGINT NOT NULL, 
	parent INTEGER, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	message TEXT NOT NULL, 
	run_id VARCHAR(64), 
	display VARCHAR(128) NOT NULL, source JSON, state VARCHAR(16) DEFAULT 'canonical' NOT NULL, decided_by VARCHAR(128), decided_at DATETIME, decision TEXT DEFAULT '' NOT NULL, 
	PRIMARY KEY (name, version)
);
CREATE INDEX ix_dataset_versions_artifact_id ON dataset_versions (artifact_id);
CREATE TABLE model_aliases (
	model VARCHAR(256) NOT NULL, 
	alias VARCHAR(128) NOT NULL, 
	version INTEGER NOT NULL, 
	moved_at DATETIME NOT NULL, 
	PRIMARY KEY (model, alias)
);
CREATE TABLE model_versions (
	name VARCHAR(256) NOT NULL, 
	version INTEGER NOT NULL, 
	artifact_id VARCHAR(64) NOT NULL, 
	type_name VARCHAR(512) NOT NULL, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	training_run_id VARCHAR(64), 
	dataset VARCHAR(300), 
	code_version VARCHAR(128), 
	metrics JSON NOT NULL, 
	description TEXT NOT NULL, 
	PRIMARY KEY (name, version)
);
CREATE INDEX ix_model_versions_artifact_id ON model_versions (artifact_id);
CREATE TABLE regression_reports (
	id VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	name VARCHAR(256) NOT NULL, 
	candidate VARCHAR(300) NOT NULL, 
	baseline VARCHAR(300), 
	golden VARCHAR(300), 
	passed BOOLEAN NOT NULL, 
	scenarios INTEGER NOT NULL, 
	failed INTEGER NOT NULL, 
	model VARCHAR(256), 
	run_id VARCHAR(64), 
	"commit" VARCHAR(64), 
	PRIMARY KEY (id)
);
CREATE INDEX ix_regression_reports_created_at ON regression_reports (created_at);
CREATE INDEX ix_regression_reports_model ON regression_reports (model);
CREATE TABLE schedule_slots (
	schedule VARCHAR(256) NOT NULL, 
	"key" VARCHAR(300) NOT NULL, 
	due_at DATETIME NOT NULL, 
	fired_at DATETIME NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	run_id VARCHAR(64), 
	detail TEXT NOT NULL, 
	dataset_version INTEGER, 
	PRIMARY KEY (schedule, "key")
);
CREATE INDEX ix_schedule_slots_due ON schedule_slots (schedule, due_at);
CREATE TABLE schedules (
	name VARCHAR(256) NOT NULL, 
	target TEXT NOT NULL, 
	params JSON NOT NULL, 
	"trigger" JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	active_since DATETIME NOT NULL, 
	cwd TEXT NOT NULL, 
	paused BOOLEAN NOT NULL, 
	webhooks JSON NOT NULL, 
	PRIMARY KEY (name)
);
CREATE TABLE inference_feedback (
	id INTEGER NOT NULL, 
	request_id VARCHAR(128) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	source VARCHAR(256) NOT NULL, 
	label JSON, 
	score FLOAT, 
	note TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_inference_feedback_request_id ON inference_feedback (request_id);
CREATE TABLE inferences (
	request_id VARCHAR(128) NOT NULL, 
	model VARCHAR(256) NOT NULL, 
	model_version INTEGER NOT NULL, 
	alias VARCHAR(128), 
	logged_at DATETIME NOT NULL, 
	prediction JSON, 
	confidence FLOAT, 
	scores BLOB, 
	batch_id VARCHAR(64) NOT NULL, 
	display VARCHAR(128) NOT NULL, 
	metadata JSON, relogged INTEGER DEFAULT '0' NOT NULL, relogged_at DATETIME, 
	PRIMARY KEY (request_id)
);
CREATE INDEX ix_inferences_batch_id ON inferences (batch_id);
CREATE INDEX ix_inferences_logged ON inferences (logged_at);
CREATE INDEX ix_inferences_model_logged ON inferences (model, model_version, logged_at);
CREATE TABLE labeling_tasks (
	id INTEGER NOT NULL, 
	queue VARCHAR(256) NOT NULL, 
	"key" VARCHAR(300) NOT NULL, 
	source VARCHAR(300) NOT NULL, 
	artifact_id VARCHAR(64) NOT NULL, 
	example_id VARCHAR(300) NOT NULL, 
	miner VARCHAR(128) NOT NULL, 
	reason TEXT NOT NULL, 
	score FLOAT NOT NULL, 
	created_at DATETIME NOT NULL, 
	request_id VARCHAR(128), 
	suggestion JSON, 
	display VARCHAR(128) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	claimed_by VARCHAR(256), 
	lease_until DATETIME, 
	label JSON, 
	labeled_by VARCHAR(256), 
	labeled_at DATETIME, 
	reviewed_by VARCHAR(256), 
	reviewed_at DATETIME, 
	skips INTEGER NOT NULL, 
	committed_to VARCHAR(300), 
	committed_at DATETIME, kind VARCHAR(16) DEFAULT 'label' NOT NULL, gold_label JSON, review_reason TEXT DEFAULT '' NOT NULL, blame FLOAT, fingerprint VARCHAR(64) DEFAULT '' NOT NULL, excluded_labeler VARCHAR(256), of_task INTEGER, proposed_to VARCHAR(300), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_labeling_tasks_queue_key UNIQUE (queue, "key")
);
CREATE INDEX ix_labeling_tasks_artifact_id ON labeling_tasks (artifact_id);
CREATE INDEX ix_labeling_tasks_queue_state ON labeling_tasks (queue, state);
CREATE TABLE loop_rounds (
	loop VARCHAR(256) NOT NULL, 
	round INTEGER NOT NULL, 
	state VARCHAR(32) NOT NULL, 
	started_at DATETIME NOT NULL, 
	model VARCHAR(256) NOT NULL, 
	dataset VARCHAR(256) NOT NULL, 
	queue VARCHAR(256) NOT NULL, 
	ended_at DATETIME, 
	run_id VARCHAR(64), 
	production_before VARCHAR(300), 
	production_after VARCHAR(300), 
	candidate VARCHAR(300), 
	dataset_before VARCHAR(300), 
	dataset_after VARCHAR(300), 
	mined INTEGER NOT NULL, 
	queued INTEGER NOT NULL, 
	labeled INTEGER NOT NULL, 
	report_id VARCHAR(64), 
	passed BOOLEAN, 
	promoted BOOLEAN NOT NULL, 
	metrics JSON NOT NULL, 
	scenarios JSON NOT NULL, 
	detail TEXT NOT NULL, proposed VARCHAR(300), waiting INTEGER DEFAULT '0' NOT NULL, returned INTEGER DEFAULT '0' NOT NULL, blamed JSON, quality JSON, relogged INTEGER DEFAULT '0' NOT NULL, accepted_by VARCHAR(256), accepted_at DATETIME, accept_reason TEXT DEFAULT '' NOT NULL, 
	PRIMARY KEY (loop, round)
);
CREATE TABLE record_revisions (
	kind VARCHAR(32) NOT NULL, 
	revision BIGINT NOT NULL, 
	PRIMARY KEY (kind)
);
CREATE TABLE artifact_values (
	id VARCHAR(64) NOT NULL, 
	data BLOB NOT NULL, 
	written_at FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_runs_cache_key_state ON runs (cache_key, state);
CREATE INDEX ix_labeling_tasks_queue_fingerprint ON labeling_tasks (queue, fingerprint);
CREATE TABLE labeling_queues (
	queue VARCHAR(256) NOT NULL, 
	dataset VARCHAR(256), 
	review BOOLEAN NOT NULL, 
	agreement FLOAT NOT NULL, 
	gold VARCHAR(300), 
	gold_share FLOAT NOT NULL, 
	min_accuracy FLOAT NOT NULL, 
	min_gold INTEGER NOT NULL, 
	updated_at DATETIME, 
	updated_by VARCHAR(256) NOT NULL, 
	label_type VARCHAR(16) NOT NULL, 
	labels JSON NOT NULL, 
	PRIMARY KEY (queue)
);
CREATE TABLE users (
	name VARCHAR(128) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	password_hash VARCHAR(256), 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	disabled BOOLEAN DEFAULT 0 NOT NULL, 
	PRIMARY KEY (name)
);
CREATE TABLE api_keys (
	id VARCHAR(32) NOT NULL, 
	user VARCHAR(128) NOT NULL, 
	secret_hash VARCHAR(64) NOT NULL, 
	role VARCHAR(16), 
	label VARCHAR(256) DEFAULT '' NOT NULL, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	expires_at DATETIME, 
	revoked_at DATETIME, 
	last_used_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_api_keys_user ON api_keys (user);
CREATE TABLE sessions (
	id_hash VARCHAR(64) NOT NULL, 
	user VARCHAR(128) NOT NULL, 
	key_id VARCHAR(32), 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (id_hash)
);
CREATE INDEX ix_sessions_user ON sessions (user);
CREATE TABLE audit_events (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(128) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	origin VARCHAR(256) NOT NULL, 
	action VARCHAR(64) NOT NULL, 
	target VARCHAR(512) DEFAULT '' NOT NULL, 
	detail JSON NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_audit_events_at ON audit_events (at);
CREATE INDEX ix_audit_events_actor ON audit_events (actor);
CREATE INDEX ix_audit_events_action ON audit_events (action);
CREATE TABLE write_batches (
	id VARCHAR(64) NOT NULL, 
	applied_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_write_batches_applied_at ON write_batches (applied_at);
INSERT INTO alembic_version (version_num) VALUES ('0008');
