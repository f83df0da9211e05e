"""DRF authentication of ingest tokens: `Authorization: Token mwi_…`.

The request's user is an `IngestPrincipal`, not the token's creator: it is no staff
member and holds no permission, so whatever a view checks, a leaked token can do no
more than `access.permissions.ModelAccess` lets it (write its model's telemetry).
"""

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from access import tokens
from access.models import IngestToken


class IngestPrincipal(AnonymousUser):
    """The caller behind an ingest token: authenticated, and allowed nothing by itself."""

    def __init__(self, token: IngestToken) -> None:
        self.token = token
        self.username = f"ingest-token:{token.prefix}"

    def __str__(self) -> str:
        return f"ingest token {self.token.name!r} ({self.token.prefix}…) of {self.token.model}"

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_authenticated(self) -> bool:
        return True

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perm_list, obj=None) -> bool:
        return False

    def has_module_perms(self, module) -> bool:
        return False

    def get_username(self) -> str:
        return self.username


def ingest_token_of(request) -> IngestToken | None:
    """The ingest token a (DRF) request authenticated with, if any."""
    return request.auth if isinstance(request.auth, IngestToken) else None


class IngestTokenAuthentication(BaseAuthentication):
    """Keys starting with `mwi_` are ingest tokens; any other key is left to the next class."""

    keyword = "token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.encode():
            return None
        key = parts[1].decode("latin-1")
        if not key.startswith(tokens.KEY_PREFIX):
            return None
        token = tokens.find_token(key)
        now = timezone.now()
        if token is None:
            raise AuthenticationFailed("Invalid ingest token.")
        if token.revoked:
            raise AuthenticationFailed("This ingest token has been revoked.")
        if not token.is_usable(now):
            raise AuthenticationFailed("This ingest token has expired.")
        tokens.touch(token, now)
        return IngestPrincipal(token), token

    def authenticate_header(self, request) -> str:
        return "Token"
