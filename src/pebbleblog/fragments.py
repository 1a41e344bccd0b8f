"""``{% cache key %}...{% endcache %}``: keep a rendered part of a template, found again by its key.

A post page's comment thread is most of what its template costs, and after a change (a new comment,
an edited post) nearly all of it renders to the same HTML as before. A theme wraps such a part in
``{% cache key %}``, where the key holds everything the part shows: the comment thread keys each
comment by its ``CommentNode`` (the whole row: name, body, dates, status) and whether replies are
open. A key of ``none`` renders the part without caching it (what to do for anything personal: a
signed-in owner's buttons, a reader's own comment).

The cache adds to every key what the template reads beside it: the request's root path (links are
paths under it) and the site's settings (a settings change empties the cache). It holds at most
``MAX_ENTRIES`` parts and ``MAX_BYTES`` of HTML, dropping the least recently used, and it is per
process. Nothing is ever dropped because its data changed: a part whose key holds all it shows is
simply not found again once that data changes. A key that misses something shows stale HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.runtime import Context
from markupsafe import Markup

from pebbleblog.lru import LRU

MAX_ENTRIES = 5_000
MAX_BYTES = 8 * 1024 * 1024


class FragmentCache:
    """Rendered parts of templates by key, least recently used dropped first."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.enabled = True
        self.hits = self.misses = 0
        self._parts: LRU[Markup] = LRU(max_entries, max_bytes, size=len)
        self._settings: object = None  # kept alive, so its identity cannot be reused

    def __len__(self) -> int:
        return len(self._parts)

    def clear(self) -> None:
        """Drop every part."""
        self._parts.clear()

    def part(self, key: Hashable, settings: object, render: Callable[[], str]) -> Markup:
        """Return the part stored under ``key``, rendering and storing it first when it is not."""
        if settings is not self._settings:
            self.clear()
            self._settings = settings
        found = self._parts.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        html = Markup(render())
        self._parts.put(key, html)
        return html


class FragmentCacheExtension(Extension):
    """The ``{% cache key, ... %}`` tag; the environment's ``fragment_cache`` holds the parts."""

    tags = {"cache"}

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.extend(fragment_cache=FragmentCache())

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        parts = [parser.parse_expression()]
        while parser.stream.skip_if("comma"):
            parts.append(parser.parse_expression())
        key = parts[0] if len(parts) == 1 else nodes.Tuple(parts, "load")
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        call = self.call_method("_render", [nodes.ContextReference(), key])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render(self, context: Context, key: Hashable | None, caller: Callable[[], str]) -> Markup:
        cache: FragmentCache = self.environment.fragment_cache  # type: ignore[attr-defined]
        if key is None or not cache.enabled:
            return Markup(caller())
        request = context.get("request")
        root_path = request.scope.get("root_path", "") if request is not None else ""
        site = context.get("site")
        settings = site.get("settings") if isinstance(site, dict) else None
        return cache.part((key, root_path), settings, caller)
