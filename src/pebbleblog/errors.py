"""Domain exceptions, and the one place that maps them to HTTP status codes."""

from __future__ import annotations


class PebbleError(Exception):
    """Base class for errors a user can be told about."""

    title = "Something went wrong"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(PebbleError):
    """The thing asked for does not exist (or is not public yet)."""

    title = "Page not found"


class BadRequest(PebbleError):
    """The request could not be understood; the message says what to fix."""

    title = "Bad request"


class Forbidden(PebbleError):
    """The request is not allowed (e.g. a form sent from another site)."""

    title = "Not allowed"


class CommentRefused(PebbleError):
    """A comment was not accepted; the message (and per-field messages) say what to do."""

    title = "Your comment was not posted"

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        fields: dict[str, str] | None = None,
        renew_form: bool = False,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.fields = fields or {}
        self.renew_form = renew_form


class FormInvalid(PebbleError):
    """A form in the admin has fields to fix; ``fields`` says what, per field."""

    title = "Please check the form"

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields


STATUS_CODES: dict[type[PebbleError], int] = {
    NotFound: 404,
    BadRequest: 400,
    Forbidden: 403,
    FormInvalid: 400,
}


def status_code_for(error: PebbleError) -> int:
    """Return the HTTP status code for a domain error."""
    if isinstance(error, CommentRefused):
        return error.status_code
    for cls in type(error).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 500
