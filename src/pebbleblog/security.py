"""Security: response headers, signed tokens and cookies, CSRF checks, keyed hashes of clients."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from itsdangerous import BadData, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pebbleblog.errors import Forbidden

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


# Uploaded files are served from the site's origin: a sandbox keeps an uploaded HTML or SVG file
# from running script there.
UPLOAD_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
}


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response (and HSTS when served over HTTPS)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- Signed values: form tokens and cookies -------------------------------------------------------

FORM_SALT = "pebbleblog.comment-form"
COOKIE_COMMENTER = "pb_commenter"  # returning-commenter token (random id), signed
COOKIE_MINE = "pb_mine"  # ids of the comments this browser posted, signed
COOKIE_REMEMBER = "pb_remember"  # name, email and website, when the reader asks to be remembered
COOKIE_FLASH = "pb_flash"  # one message to show on the next page
YEAR = 365 * 24 * 3600
MINE_LIMIT = 30
# Each signed cookie's lifetime, sent as its Max-Age and checked again when it is read back, so a
# replayed old cookie is ignored like one the browser has dropped.
COOKIE_MAX_AGE = {
    COOKIE_COMMENTER: YEAR,
    COOKIE_MINE: 30 * 24 * 3600,
    COOKIE_REMEMBER: YEAR,
    COOKIE_FLASH: 600,
}


_WORTH_PACKING = 64  # bytes of JSON below which a token is not compressed


class _SmallTokenSerializer(URLSafeTimedSerializer):
    """itsdangerous's URL-safe timed tokens, compressed with a small zlib window.

    Our tokens are tens of bytes: the 256 KiB that zlib's default window and hash table take cost
    some 40 us to set up for each one, three quarters of signing it. A 512-byte window packs them as
    well, and any zlib reader (itsdangerous's loads among them) reads the stream back.
    """

    def dump_payload(self, obj: Any) -> bytes:
        json = super(URLSafeSerializerMixin, self).dump_payload(obj)  # the JSON, before the mixin
        if len(json) < _WORTH_PACKING:
            return base64_encode(json)  # a random id or a few comment ids: deflate would add bytes
        packer = zlib.compressobj(6, zlib.DEFLATED, 9, 1)
        compressed = packer.compress(json) + packer.flush()
        if len(compressed) < len(json) - 1:  # the mixin's rule: a "." marks a compressed payload
            return b"." + base64_encode(compressed)
        return base64_encode(json)


class Signer:
    """Sign and read back small values with the site secret, one salt per purpose."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        # Made once per purpose (they keep no state between uses): a third of a token's cost.
        found = self._serializers.get(purpose)
        if found is None:
            found = self._serializers[purpose] = _SmallTokenSerializer(self._secret, salt=purpose)
        return found

    def dumps(self, purpose: str, value: Any) -> str:
        """Return ``value`` signed (and timestamped) for ``purpose``."""
        return str(self._serializer(purpose).dumps(value))

    def loads(self, purpose: str, token: str | None, max_age: int | None = None) -> Any:
        """Return the value of a token signed for ``purpose``, or None if it is missing, forged or too old."""
        if not token:
            return None
        try:
            return self._serializer(purpose).loads(token, max_age=max_age)
        except BadData:
            return None

    def issued_at(self, purpose: str, token: str | None, expected: Any) -> datetime | None:
        """Return when a token carrying ``expected`` was signed, or None if it is not such a token."""
        if not token:
            return None
        try:
            value, stamp = self._serializer(purpose).loads(token, return_timestamp=True)
        except BadData:
            return None
        return stamp if value == expected else None


def new_commenter_token() -> str:
    """Return a fresh random returning-commenter id."""
    return secrets.token_urlsafe(18)


def token_hash(secret: bytes, token: str) -> str:
    """Return the keyed hash of a returning-commenter id, as stored with comments."""
    return hmac.new(secret, b"commenter:" + token.encode(), hashlib.sha256).hexdigest()[:40]


def client_hash(secret: bytes, ip: str) -> str:
    """Return the keyed hash of a client address (the raw address is never stored)."""
    return hmac.new(secret, b"client:" + ip.encode(), hashlib.sha256).hexdigest()[:32]


# What http.cookies writes without quotes: our signed tokens and session ids are always made of
# these, so their header is written straight out.
_PLAIN_COOKIE_VALUE = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~:]+")


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """Set a cookie HttpOnly, SameSite=Lax, Secure over HTTPS, scoped to the site's path."""
    secure = _is_https(request)
    path = _cookie_path(request)
    if _PLAIN_COOKIE_VALUE.fullmatch(value):
        # What Starlette's set_cookie writes, without building a SimpleCookie (a third of a POST's
        # cookie cost); tests/test_cookies.py holds the two equal.
        header = f"{name}={value}; HttpOnly; Max-Age={max_age}; Path={path}; SameSite=lax"
        response.raw_headers.append((b"set-cookie", (header + "; Secure" if secure else header).encode()))
        return
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax", secure=secure)


def set_signed_cookie(response: Response, request: Request, signer: Signer, name: str, value: Any) -> None:
    """Set one of the reader cookies (COOKIE_MAX_AGE), its value signed for its name."""
    set_cookie(response, request, name, signer.dumps(name, value), COOKIE_MAX_AGE[name])


def read_signed_cookie(request: Request, signer: Signer, name: str) -> Any:
    """Return a reader cookie's value; None if missing, tampered, signed by another site or too old."""
    return signer.loads(name, request.cookies.get(name), max_age=COOKIE_MAX_AGE[name])


def delete_cookie(response: Response, request: Request, name: str) -> None:
    """Remove a cookie set by :func:`set_cookie`."""
    response.delete_cookie(
        name,
        path=_cookie_path(request),
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
    )


CSRF_MARK = "__pebbleblog_csrf__"
_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def mark_csrf_protected(handler: _Handler, how: str) -> _Handler:
    """Record on a POST handler how it checks CSRF (a test asserts every POST route has one)."""
    setattr(handler, CSRF_MARK, how)
    return handler


def check_same_origin(request: Request) -> None:
    """Refuse a form POST that a browser says came from another site (CSRF defence)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise Forbidden(
            "This form was sent from another site. Please go back to the page and send it from there."
        )
    origin = request.headers.get("origin")
    if origin is not None and origin != "null" and not _is_own_origin(request, origin):
        raise Forbidden(
            "This form was sent from another site. Please go back to the page and send it from there."
        )
    if origin == "null" and fetch_site is None:
        raise Forbidden(
            "This form was sent from a page without an origin. Please send it from the site itself."
        )


def _is_own_origin(request: Request, origin: str) -> bool:
    # The Host header as the browser sent it matches first; parsing the URL is for the rest (a
    # default port written out, letters in another case).
    host = request.headers.get("host")
    if host is not None and origin == f"{request.scope.get('scheme', 'http')}://{host}":
        return True
    return origin == _own_origin(request)


def _own_origin(request: Request) -> str:
    url = request.url
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = f":{url.port}" if url.port and url.port != default else ""
    return f"{url.scheme}://{url.hostname}{port}"


def _is_https(request: Request) -> bool:
    return bool(request.scope.get("scheme", "http") == "https")


def _cookie_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")) or "/"
