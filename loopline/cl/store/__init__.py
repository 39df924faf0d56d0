"""What the CL layer keeps and where: its records and errors, the `CLStore` protocol with its
in-memory and SQL implementations, record revisions, provenance, and the `Workspace`."""
