"""The whole URL map. Every route is named; templates and views build URLs from these names."""

from __future__ import annotations

from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import BaseRoute, Mount, Route

from pebbleblog.settings import Settings
from pebbleblog.templating import LayeredStaticFiles, UploadedFiles, static_dirs
from pebbleblog.views import comments, feeds, health, public
from pebbleblog.views.admin import auth, content, dashboard, files, mailactions, moderation, site


def admin_routes() -> list[BaseRoute]:
    """Return the admin's routes (all under /admin)."""

    def post(path: str, endpoint: Any, name: str) -> Route:
        return Route(path, endpoint, methods=["POST"], name=name)

    return [
        Route("/admin/login", auth.login_form, name="admin:login"),
        post("/admin/login", auth.login, "admin:login-submit"),
        post("/admin/logout", auth.logout, "admin:logout"),
        Route("/admin/", dashboard.dashboard, name="admin:dashboard"),
        Route("/admin", public.redirect_to("admin:dashboard")),
        Route("/admin/comments", moderation.comments_page, name="admin:comments"),
        post("/admin/comments", moderation.comments_bulk, "admin:comments-bulk"),
        post("/admin/comments/empty-spam", moderation.empty_spam, "admin:empty-spam"),
        post("/admin/comments/{comment_id:id}/block", moderation.block, "admin:block"),
        post("/admin/comments/{comment_id:id}/moderate", moderation.moderate_one, "admin:moderate"),
        Route("/admin/mail/{token}", mailactions.confirm, name="admin:mail-action"),
        post("/admin/mail/{token}", mailactions.act, "admin:mail-action-do"),
        Route("/admin/posts", content.post_list, name="admin:posts"),
        Route("/admin/posts/new", content.post_new, name="admin:post-new"),
        post("/admin/posts/new", content.post_save, "admin:post-create"),
        Route("/admin/posts/{post_id:id}", content.post_edit, name="admin:post-edit"),
        post("/admin/posts/{post_id:id}", content.post_save, "admin:post-update"),
        Route(
            "/admin/posts/{post_id:id}/delete", content.post_delete_confirm, name="admin:post-delete-confirm"
        ),
        post("/admin/posts/{post_id:id}/delete", content.post_delete, "admin:post-delete"),
        Route("/admin/pages", content.page_list, name="admin:pages"),
        Route("/admin/pages/new", content.page_new, name="admin:page-new"),
        post("/admin/pages/new", content.page_save, "admin:page-create"),
        Route("/admin/pages/{page_id:id}", content.page_edit, name="admin:page-edit"),
        post("/admin/pages/{page_id:id}", content.page_save, "admin:page-update"),
        Route(
            "/admin/pages/{page_id:id}/delete", content.page_delete_confirm, name="admin:page-delete-confirm"
        ),
        post("/admin/pages/{page_id:id}/delete", content.page_delete, "admin:page-delete"),
        Route("/admin/uploads", files.upload_list, name="admin:uploads"),
        post("/admin/uploads", files.upload, "admin:upload"),
        post("/admin/uploads/delete", files.delete, "admin:upload-delete"),
        Route("/admin/settings", site.settings_page, name="admin:settings"),
        post("/admin/settings", site.settings_save, "admin:settings-save"),
        Route("/admin/users", site.users_page, name="admin:users"),
        post("/admin/users", site.user_add, "admin:user-add"),
        post("/admin/users/{user_id:id}/delete", site.user_delete, "admin:user-delete"),
        Route("/admin/password", site.password_page, name="admin:password"),
        post("/admin/password", site.password_change, "admin:password-change"),
    ]


class IdConvertor(Convertor[int]):
    """A path parameter of at most 18 digits, so it always fits a database integer."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor("id", IdConvertor())

# Public pages the in-process page cache may keep for anonymous readers (see pagecache.py).
PAGE_CACHE_ROUTES = frozenset(
    {
        "home",
        "blog",
        "post",
        "tag",
        "archive",
        "month",
        "search",
        "avatar",
        "page",
        "feed:posts",
        "feed:comments",
        "feed:tag",
        "feed:post-comments",
        "sitemap",
        "sitemap:site",
        "sitemap:posts",
        "robots",
    }
)


def build_routes(settings: Settings) -> list[BaseRoute]:
    """Return the app's routes; static and upload folders come from the settings."""
    return [
        Route("/", public.home, name="home"),
        Route("/blog/", public.post_list, name="blog"),
        Route("/blog", public.redirect_to("blog")),
        Route("/archive", public.redirect_to("archive")),
        Route("/posts/{slug}/", public.post, name="post"),
        Route("/posts/{slug}/comments", comments.create, methods=["POST"], name="comment:create"),
        Route("/posts/{slug}/comments/{comment_id:id}/edit", comments.edit_form, name="comment:edit"),
        Route(
            "/posts/{slug}/comments/{comment_id:id}/edit",
            comments.update,
            methods=["POST"],
            name="comment:update",
        ),
        Route(
            "/posts/{slug}/comments/{comment_id:id}/delete",
            comments.delete,
            methods=["POST"],
            name="comment:delete",
        ),
        Route("/tags/{slug}/", public.tag, name="tag"),
        Route("/archive/", public.archive, name="archive"),
        Route("/archive/{year:id}/{month:id}/", public.month, name="month"),
        Route("/avatars/{key}.svg", public.avatar, name="avatar"),
        Route("/search", public.search_page, name="search"),
        Route("/feeds/posts.{fmt}", feeds.posts_feed, name="feed:posts"),
        Route("/feeds/comments.{fmt}", feeds.comments_feed, name="feed:comments"),
        Route("/feeds/tags/{slug}.{fmt}", feeds.tag_feed, name="feed:tag"),
        Route("/feeds/posts/{slug}/comments.{fmt}", feeds.post_comments_feed, name="feed:post-comments"),
        Route("/sitemap.xml", feeds.sitemap, name="sitemap"),
        Route("/sitemaps/site.xml", feeds.sitemap_site, name="sitemap:site"),
        Route("/sitemaps/posts-{number:id}.xml", feeds.sitemap_posts, name="sitemap:posts"),
        Route("/robots.txt", feeds.robots, name="robots"),
        Route("/healthz", health.healthz, name="healthz"),  # before the /{slug} pages
        *admin_routes(),
        Mount("/static", LayeredStaticFiles(static_dirs(settings)), name="static"),
        Mount("/uploads", UploadedFiles(directory=settings.uploads_dir, check_dir=False), name="uploads"),
        Route("/{slug}", public.static_page, name="page"),
    ]
