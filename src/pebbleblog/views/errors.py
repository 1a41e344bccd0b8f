"""Error pages: domain errors and HTTP errors become styled pages; a crash becomes a 500 page."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from pebbleblog.errors import PebbleError, status_code_for
from pebbleblog.views.common import render
from pebbleblog.views.moved import old_address

log = logging.getLogger(__name__)

_HTTP_MESSAGES = {
    404: ("Page not found", "There is nothing at this address. It may have moved."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
}
# Statuses whose detail is already a sentence for the reader (the body limits of pebbleblog.limits).
_HTTP_TITLES = {400: "Bad request", 408: "Request timed out", 413: "Request too large"}


async def domain_error(request: Request, exc: Exception) -> Response:
    """Answer a domain error with its status and message."""
    assert isinstance(exc, PebbleError), "registered for PebbleError only"
    status = status_code_for(exc)
    if status == 404 and (moved := await old_address(request)):
        return moved
    return await _error_page(request, status, exc.title, exc.message)


async def sign_in_required(request: Request, exc: Exception) -> Response:
    """Send a visitor of an admin page to the sign-in page, to come back afterwards."""
    from pebbleblog.views.admin.base import sign_in_redirect

    return sign_in_redirect(request)


async def http_error(request: Request, exc: Exception) -> Response:
    """Answer Starlette's HTTP errors (unknown route, wrong method) with a styled page."""
    assert isinstance(exc, HTTPException), "registered for HTTPException only"
    if exc.status_code == 404 and (moved := await old_address(request)):
        return moved
    default = (_HTTP_TITLES.get(exc.status_code, "Request refused"), str(exc.detail))
    title, message = _HTTP_MESSAGES.get(exc.status_code, default)
    return await _error_page(request, exc.status_code, title, message, exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    """Answer an unexpected exception without showing a traceback (it goes to the log)."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return await _error_page(
        request,
        500,
        "Something went wrong",
        "The site hit an error it did not expect. Please try again shortly.",
    )


async def _error_page(
    request: Request, status: int, title: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    context = {"status": status, "error_title": title, "message": message}
    try:
        response = await render(request, f"{status}.html", context, status_code=status)
    except Exception:  # noqa: BLE001 - the themed page failed; fall back below
        try:
            response = await render(request, "error.html", context, status_code=status)
        except Exception:  # noqa: BLE001 - even the plain page failed (e.g. database gone)
            log.exception("could not render the %s page", status)
            response = PlainTextResponse(f"{title}\n\n{message}\n", status_code=status)
    if headers:
        response.headers.update(headers)
    return response
