"""Sign-in lockout: failed passwords are counted per username and per client address.

Every password check goes through Django's `authenticate()` (the dashboards' login page,
the admin's, anything else), so the limit lives there: `LoginLimitBackend`, first in
AUTHENTICATION_BACKENDS, refuses the attempt before any password is hashed once the
username or the address has used up its failures for the current window
(MODELWATCH_LOGIN_FAILURES_USER, default 10/hour; MODELWATCH_LOGIN_FAILURES_ADDRESS,
default 30/hour). Failures are counted from Django's `user_login_failed` signal, and a
successful sign-in clears its username's count. A refused attempt is a failure too, and
even the right password is refused while locked. Counts are fixed windows in Django's
cache (`throttling.count_hit`); the address is `throttling.client_address`, so a forged
`X-Forwarded-For` does not reset it.
"""

import hashlib

from django.conf import settings
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from access.throttling import (
    client_address,
    count_hit,
    forget_hits,
    hits_so_far,
    parse_rate,
)

USER, ADDRESS = "MODELWATCH_LOGIN_FAILURES_USER", "MODELWATCH_LOGIN_FAILURES_ADDRESS"
LOCKED_MESSAGE = (
    "Too many failed sign-ins for this account or from this address; "
    "try again in {minutes} minute(s)."
)


def _identities(request, username) -> list[tuple[str, str]]:
    """(setting, identity) pairs an attempt counts against; unknown parts are skipped."""
    found = []
    if username:
        digest = hashlib.sha256(str(username).strip().lower().encode()).hexdigest()[:32]
        found.append((USER, f"user:{digest}"))
    address = client_address(request) if request is not None else ""
    if address:
        found.append((ADDRESS, f"ip:{address}"))
    return found


def _rate(setting: str) -> tuple[int, int] | None:
    return parse_rate(setting, getattr(settings, setting))


def locked_for(request, username) -> float:
    """Seconds until this username and address may try again (0: not locked)."""
    wait = 0.0
    for setting, ident in _identities(request, username):
        if (rate := _rate(setting)) is None:
            continue
        count, left = hits_so_far(setting, ident, rate[1])
        if count >= rate[0]:
            wait = max(wait, left)
    return wait


class LoginLimitBackend(BaseBackend):
    """Refuses every credential check while locked (Django then tries no other backend).

    It authenticates nobody itself; as the first backend it is also the one Django names
    in sessions made by `login()` without a backend (`force_login`), so it loads users
    as ModelBackend does."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if locked_for(request, username or kwargs.get("email")):
            raise PermissionDenied("locked out")
        return None

    def get_user(self, user_id):
        return ModelBackend().get_user(user_id)


@receiver(user_login_failed, dispatch_uid="access.count_login_failure")
def count_login_failure(sender, credentials, request=None, **kwargs) -> None:
    for setting, ident in _identities(request, credentials.get("username")):
        if (rate := _rate(setting)) is not None:
            count_hit(setting, ident, *rate)


@receiver(user_logged_in, dispatch_uid="access.forget_login_failures")
def forget_login_failures(sender, request, user, **kwargs) -> None:
    if (rate := _rate(USER)) is not None:
        for setting, ident in _identities(None, user.get_username()):
            forget_hits(setting, ident, rate[1])


class LimitedLoginView(LoginView):
    """Django's login page, answering 429 with Retry-After while locked out."""

    def form_invalid(self, form):
        wait = locked_for(self.request, form.data.get("username", ""))
        if not wait:
            return super().form_invalid(form)
        form.errors.clear()
        form.add_error(None, LOCKED_MESSAGE.format(minutes=max(1, round(wait / 60))))
        response = self.render_to_response(self.get_context_data(form=form), status=429)
        response["Retry-After"] = str(max(1, int(wait)))
        return response
