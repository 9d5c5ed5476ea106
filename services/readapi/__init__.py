"""The back office's read API (``lunas serve read-api``): payments and pickups for admins."""
