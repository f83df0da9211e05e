"""Ingest tokens: random keys, stored hashed, that may write one model's telemetry.

A key looks like `mwi_<43 url-safe characters>`; the prefix tells the authentication
class to look it up here rather than among users' API tokens, so SDK clients and curl
send it the same way: `Authorization: Token mwi_…`.
"""

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from access.models import IngestToken
from models_app.models import Model

KEY_PREFIX = "mwi_"
TOUCH_EVERY = timedelta(minutes=1)
DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.ASCII)
MAX_LIFETIME = timedelta(days=3650)  # ten years: far enough, and never past year 9999
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def hash_key(key: str) -> str:
    """SHA-256 of the key: keys carry 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_expiry(text: str | None, now: datetime) -> datetime | None:
    """ "30d", "12h", "2w", "90m", "45s" from now; None or "" or "never": no expiry.

    A lifetime over MAX_LIFETIME is refused (ValueError), however many digits it has.
    """
    if not text or text.strip().lower() == "never":
        return None
    match = DURATION.match(text)
    digits = match.group(1).lstrip("0") if match else ""
    if not digits:
        raise ValueError(f'Expected a duration such as "30d", "12h" or "never", got {text[:50]!r}.')
    seconds = int(digits[:12]) * UNIT_SECONDS[match.group(2)]
    if len(digits) > 12 or seconds > MAX_LIFETIME.total_seconds():
        raise ValueError(f"A token lives at most {MAX_LIFETIME.days} days (ten years).")
    return now + timedelta(seconds=seconds)


def create_token(
    model: Model, name: str, created_by=None, expires_at: datetime | None = None
) -> tuple[IngestToken, str]:
    """A new token and its key (the only time the key exists in clear)."""
    key = new_key()
    token = IngestToken(model=model, name=name, created_by=created_by, expires_at=expires_at)
    set_key(token, key)
    token.save()
    return token, key


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def set_key(token: IngestToken, key: str) -> None:
    token.prefix, token.key_hash = key[: len(KEY_PREFIX) + 6], hash_key(key)


def find_token(key: str) -> IngestToken | None:
    if not key.startswith(KEY_PREFIX):
        return None
    return IngestToken.objects.select_related("model").filter(key_hash=hash_key(key)).first()


def touch(token: IngestToken, now: datetime) -> None:
    """Record use at most once a minute per token (not one write per request)."""
    if token.last_used_at is None or token.last_used_at < now - TOUCH_EVERY:
        IngestToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def revoke(token: IngestToken) -> None:
    token.revoked = True
    token.save(update_fields=["revoked"])
