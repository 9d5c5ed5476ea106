"""payment_svc's adapters: the Postgres repository, read views for people, and ops checks."""
