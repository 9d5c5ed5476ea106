"""The feed token secret of a ``lunas run`` stack without ``LUNAS_FEED_TOKEN_SECRET``.

The data directory gets one of its own (``<data dir>/feed-secret``, random, mode 0600) and the
log says how to mint a token with it; nothing runs on a secret anyone could know.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import structlog
from pydantic import SecretStr

from services.common.devstack import DevstackError
from services.common.settings import Settings

log = structlog.get_logger(__name__)

FEED_SECRET_FILE = "feed-secret"  # noqa: S105 - a file name
FEED_SECRET_BYTES = 48  # random bytes; the file holds them base64url-encoded (64 characters)


def _data_dir_secret(path: Path) -> str:
    """The secret stored at `path`, made (random, mode 0600) the first time."""
    from services.notify_svc.tokens import MIN_SECRET_BYTES

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # readable by others is as good as no secret: close it again
            log.warning("stack.feed_secret_mode_fixed", file=str(path))
        secret = path.read_text("utf-8").strip()
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise DevstackError(
                f"{path} holds no usable feed token secret; delete it to have a new one made"
            ) from None
        return secret
    secret = secrets.token_urlsafe(FEED_SECRET_BYTES)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    log.info("stack.feed_secret_created", file=str(path))
    return secret


def with_feed_secret(settings: Settings) -> Settings:
    """`settings` with a feed token secret: the configured one, else the data directory's own."""
    if settings.feed_token_secret is not None:
        return settings
    path = settings.data_dir / FEED_SECRET_FILE
    secret = _data_dir_secret(path)
    log.info(
        "stack.feed_secret",
        file=str(path),
        mint_a_token=f'LUNAS_FEED_TOKEN_SECRET="$(cat {path})" lunas token issue '
        "--tenant <tenant> --user user:<id>",
    )
    return settings.model_copy(update={"feed_token_secret": SecretStr(secret)})
