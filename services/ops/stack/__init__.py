"""``lunas run``: the whole stack (``start``), its supervision, the demo and the screen."""

from services.ops.stack.secret import FEED_SECRET_FILE, with_feed_secret
from services.ops.stack.start import RunningStack, run_stack, settings_env

__all__ = ["FEED_SECRET_FILE", "RunningStack", "run_stack", "settings_env", "with_feed_secret"]
