"""Who may do what over the API: reads need a user, writes a token or a staff session."""

from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission


def is_token_request(request) -> bool:
    return isinstance(request.successful_authenticator, TokenAuthentication)


class ReadAuthenticatedWriteToken(BasePermission):
    """Any authenticated user reads; writes need an API token or a staff session."""

    message = "Writes need an API token or a staff session."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return True
        return is_token_request(request) or user.is_staff


class IsStaff(BasePermission):
    message = "Only staff users may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
