"""The whole URL map. Every route is named; templates and views build URLs from these names."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from pebbleblog.settings import Settings
from pebbleblog.templating import LayeredStaticFiles, UploadedFiles, static_dirs
from pebbleblog.views import comments, public


def build_routes(settings: Settings) -> list[BaseRoute]:
    """Return the app's routes; static and upload folders come from the settings."""
    return [
        Route("/", public.home, name="home"),
        Route("/blog/", public.post_list, name="blog"),
        Route("/blog", public.redirect_to("blog")),
        Route("/archive", public.redirect_to("archive")),
        Route("/posts/{slug}/", public.post, name="post"),
        Route("/posts/{slug}/comments", comments.create, methods=["POST"], name="comment:create"),
        Route("/posts/{slug}/comments/{comment_id:int}/edit", comments.edit_form, name="comment:edit"),
        Route(
            "/posts/{slug}/comments/{comment_id:int}/edit",
            comments.update,
            methods=["POST"],
            name="comment:update",
        ),
        Route(
            "/posts/{slug}/comments/{comment_id:int}/delete",
            comments.delete,
            methods=["POST"],
            name="comment:delete",
        ),
        Route("/tags/{slug}/", public.tag, name="tag"),
        Route("/archive/", public.archive, name="archive"),
        Route("/archive/{year:int}/{month:int}/", public.month, name="month"),
        Route("/avatars/{key}.svg", public.avatar, name="avatar"),
        Route("/admin/login", public.login, name="admin:login"),
        Mount("/static", LayeredStaticFiles(static_dirs(settings)), name="static"),
        Mount("/uploads", UploadedFiles(directory=settings.uploads_dir, check_dir=False), name="uploads"),
        Route("/{slug}", public.static_page, name="page"),
    ]
