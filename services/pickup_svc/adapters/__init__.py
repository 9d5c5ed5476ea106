"""pickup_svc's adapters: the Postgres repository and the ops checks over its tables."""
