"""The back office's read API (HTTP): read-only views of the services' state."""
