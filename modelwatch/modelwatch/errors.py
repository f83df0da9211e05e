"""Errors raised by the client, carrying the server's field messages."""

from __future__ import annotations

from typing import Any


def flatten_errors(errors: Any, prefix: str = "") -> list[str]:
    """Turn DRF's nested error body into lines such as `records.3.value: Must be ...`.

    >>> flatten_errors({"records": {"3": {"value": ["Must be a finite number."]}}})
    ['records.3.value: Must be a finite number.']
    """
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            lines += flatten_errors(value, f"{prefix}.{key}" if prefix else str(key))
        return lines
    if isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        return [f"{prefix}: {item}" if prefix else item for item in errors]
    if isinstance(errors, list):
        lines = []
        for index, item in enumerate(errors):
            lines += flatten_errors(item, f"{prefix}.{index}" if prefix else str(index))
        return lines
    return [f"{prefix}: {errors}" if prefix else str(errors)]


class ModelWatchError(Exception):
    """A request that failed for good.

    `status` is the HTTP status (None when the server could not be reached) and
    `errors` the decoded error body, e.g. `{"records": {"3": {"value": [...]}}}`.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        errors: Any = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status = status
        self.errors = errors
        self.method = method
        self.url = url
        super().__init__(message)

    @classmethod
    def from_response(cls, response: Any) -> ModelWatchError:
        """Build the error of a 4xx/5xx answer, quoting every field message it names."""
        try:
            errors = response.json()
        except ValueError:
            errors = response.text[:2000] or None
        request = response.request
        where = f"{request.method} {request.url}" if request is not None else response.url
        lines = flatten_errors(errors) if errors is not None else []
        message = f"HTTP {response.status_code} on {where}"
        if lines:
            message += ": " + "; ".join(lines[:20])
            if len(lines) > 20:
                message += f"; ... ({len(lines) - 20} more)"
        return cls(
            message,
            status=response.status_code,
            errors=errors,
            method=getattr(request, "method", None),
            url=response.url,
        )


class ModelWatchConnectionError(ModelWatchError):
    """The server could not be reached (or did not answer in time) after every retry."""
