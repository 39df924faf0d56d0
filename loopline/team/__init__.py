"""Team mode's people: users with roles, their API keys and dashboard sessions, and the audit log
of who changed what, when and from where (records, secrets, and their stores)."""
