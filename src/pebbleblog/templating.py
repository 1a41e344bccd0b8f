"""The Jinja environment: the site's own templates, then the theme, then the built-in default.

A theme (or a site) can extend the template it replaces through the ``default:`` prefix, e.g.
``{% extends "default:base.html" %}``, as Datasette does; a site's own template can extend the
selected theme's with the ``theme:`` prefix. Autoescaping is always on; the one
place that marks stored HTML as safe is :func:`trusted_html`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Message, Receive, Scope, Send

from pebbleblog.fragments import FragmentCacheExtension
from pebbleblog.security import UPLOAD_HEADERS
from pebbleblog.settings import BUILTIN_THEMES, NavLink, Settings
from pebbleblog.threads import CommentNode

DEFAULT_THEME = BUILTIN_THEMES / "default"
GRAVATAR = "https://www.gravatar.com/avatar/"


def url_path(request: Request, name: str, /, **params: Any) -> str:
    """Return the path of the named route of *this* app, with any mount prefix in front.

    ``request.url_for`` asks the outermost router, which does not know our route names when
    pebbleblog is mounted inside another app; our own app is ``scope["app"]``.
    """
    return str(request.scope.get("root_path", "")) + route_path(request.scope["app"].router, name, params)


_PATHS_ATTRIBUTE = "_pebbleblog_paths"
_PATHS_KEPT = 2_000  # a page's own links and the site-wide ones; per-comment links churn through


def route_path(router: Router, name: str, params: dict[str, Any]) -> str:
    """Return ``router.url_path_for(name, **params)``, remembered per router.

    A page builds dozens of links and Starlette finds each by trying every route in turn; the
    answer depends only on the name and parameters, so each is worked out once."""
    paths: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = router.__dict__.setdefault(
        _PATHS_ATTRIBUTE, {}
    )
    try:
        key = (name, tuple(sorted(params.items())))
        found = paths.get(key)
    except TypeError:  # an unhashable parameter: just look it up
        return str(router.url_path_for(name, **params))
    if found is None:
        if len(paths) >= _PATHS_KEPT:
            paths.clear()
        found = paths[key] = str(router.url_path_for(name, **params))
    return found


def absolute_url(request: Request, settings: Settings, name: str, /, **params: Any) -> str:
    """Return the absolute URL of a route, from the configured base URL when there is one."""
    if settings.site.base_url:
        path = route_path(request.scope["app"].router, name, params)
        return settings.site.base_url.rstrip("/") + path
    return str(request.url.replace(path=url_path(request, name, **params), query="", fragment=""))


def trusted_html(value: str) -> Markup:
    """Mark HTML as safe. Only for HTML that content/sanitize.py produced at write time."""
    return Markup(value)  # noqa: S704 - the one trust decision, see the docstring


def make_templates(settings: Settings) -> Jinja2Templates:
    """Build the template loader chain and the environment, with pebbleblog's globals."""
    default_loader = jinja2.FileSystemLoader(DEFAULT_THEME / "templates")
    chain: list[jinja2.BaseLoader] = []
    if settings.templates_dir.is_dir():
        chain.append(jinja2.FileSystemLoader(settings.templates_dir))
    if settings.theme_dir.resolve() != DEFAULT_THEME.resolve():
        chain.append(jinja2.FileSystemLoader(settings.theme_dir / "templates"))
    theme_loader = jinja2.FileSystemLoader(settings.theme_dir / "templates")
    prefixed = {"default": default_loader, "theme": theme_loader}
    chain += [jinja2.PrefixLoader(prefixed, delimiter=":"), default_loader]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(chain),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Checking every template's modification time on every render was a sixth of a post page's
        # cost; a theme developer turns it on with `serve --reload` ([server] template_reload).
        auto_reload=settings.server.template_reload,
        extensions=[FragmentCacheExtension],
    )
    # An edited template must show at once: its old parts must not.
    env.fragment_cache.enabled = not settings.server.template_reload  # type: ignore[attr-defined]
    static_known: dict[str, str] = {}
    env.globals["url_for"] = jinja2.pass_context(
        lambda ctx, name, /, **params: (
            url_path(ctx["request"], name, **params)
            + (static_version(settings, params["path"], static_known) if name == "static" else "")
        )
    )
    env.globals["nav_href"] = jinja2.pass_context(lambda ctx, link: nav_href(ctx["request"], link))
    env.globals["avatar_src"] = jinja2.pass_context(
        lambda ctx, node: avatar_src(ctx["request"], ctx["site"]["settings"], node)
    )
    env.filters["trusted"] = trusted_html
    env.filters["tel"] = tel_uri_number
    env.filters["localtime"] = lambda moment, fmt="%B %-d, %Y": local_time(settings, moment, fmt)
    return Jinja2Templates(env=env)


def nav_href(request: Request, link: NavLink) -> str:
    """Return the href of a navigation link from the config."""
    match link.kind:
        case "page":
            return url_path(request, "page", slug=link.target)
        case "post":
            return url_path(request, "post", slug=link.target)
        case "upload":
            return url_path(request, "uploads", path=link.target)
    if link.url.startswith("/"):
        return str(request.scope.get("root_path", "")) + link.url
    return link.url


def avatar_src(request: Request, settings: Settings, node: CommentNode) -> str:
    """Return the avatar image URL of a comment: generated here, or Gravatar when the site opts in."""
    if settings.comments.avatars == "gravatar" and node.comment.author_email:
        digest = hashlib.sha256(node.comment.author_email.strip().lower().encode()).hexdigest()
        return f"{GRAVATAR}{digest}?s=96&d=identicon"
    return url_path(request, "avatar", key=node.avatar)


def tel_uri_number(phone: str) -> str:
    """Return the digits (and a leading +) of a phone number, for a tel: link."""
    return ("+" if phone.strip().startswith("+") else "") + "".join(c for c in phone if c.isdigit())


def local_time(settings: Settings, moment: datetime | None, fmt: str) -> str:
    """Format an aware datetime in the site's time zone."""
    return "" if moment is None else moment.astimezone(settings.zone).strftime(fmt)


class _RangeErrorPages(StaticFiles):
    """Answer a bad Range header with the site's error page, not Starlette's bare text (or empty 416)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused: list[Message] = []

        async def hold_refusal(message: Message) -> None:
            if refused or (message["type"] == "http.response.start" and message["status"] in (400, 416)):
                refused.append(message)
            else:
                await send(message)

        await super().__call__(scope, receive, hold_refusal)
        if refused:  # raised, so the app's HTTPException handler renders the page
            status = refused[0]["status"]
            headers = dict(MutableHeaders(raw=refused[0]["headers"]))
            detail = b"".join(m.get("body", b"") for m in refused[1:]).decode("utf-8", "replace")
            reason = detail or "they are beyond its end."
            raise HTTPException(
                status,
                f"This file cannot be sent in the parts asked for (the Range header): {reason}",
                headers={k: v for k, v in headers.items() if k == "content-range"},
            )


class UploadedFiles(_RangeErrorPages):
    """The site's uploads/ folder, each file served inside a CSP sandbox."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(UPLOAD_HEADERS)
        return response


class LayeredStaticFiles(_RangeErrorPages):
    """Static files looked up in several folders in turn: site, theme, default theme.

    A URL carrying the file's content hash (``?v=...``, added by ``url_for('static', ...)``) can be
    cached for a year: a changed file gets a new URL.
    """

    def __init__(self, directories: list[Path]) -> None:
        existing = [d for d in directories if d.is_dir()]
        super().__init__(directory=existing[0], check_dir=False)
        self.all_directories = list(dict.fromkeys(existing))

    def file_response(self, full_path: Any, stat_result: Any, scope: Any, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response


_versions: dict[tuple[Path, int], str] = {}


def static_version(settings: Settings, path: str, known: dict[str, str] | None = None) -> str:
    """Return '?v=<hash of the file's content>' for a static file ('' if there is no such file).

    With ``known`` (one app's memo), worked out once per file and worker, as templates are read
    (six file checks per page otherwise); with ``[server] template_reload`` every time, so an
    edited stylesheet gets its new address at once."""
    found = None if known is None or settings.server.template_reload else known.get(path)
    if found is None:
        found = _static_version(settings, path)
        if known is not None:
            known[path] = found
    return found


def _static_version(settings: Settings, path: str) -> str:
    for folder in static_dirs(settings):
        candidate = folder / path
        if candidate.is_file():
            key = (candidate, candidate.stat().st_mtime_ns)
            if key not in _versions:
                _versions[key] = hashlib.sha256(candidate.read_bytes()).hexdigest()[:12]
            return f"?v={_versions[key]}"
    return ""


def static_dirs(settings: Settings) -> list[Path]:
    """Return the folders static files come from, the first match winning."""
    return [settings.static_dir, settings.theme_dir / "static", DEFAULT_THEME / "static"]
