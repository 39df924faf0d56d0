"""Who a request acts as and what it may do: identities (API keys, dashboard sessions, a trusted
proxy's header), the role each route and store method needs, CSRF, and the audit log."""
