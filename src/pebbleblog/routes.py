"""The whole URL map. Every route is named; templates and views build URLs from these names."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Mount, Route

from pebbleblog.settings import Settings
from pebbleblog.templating import LayeredStaticFiles, UploadedFiles, static_dirs
from pebbleblog.views import comments, public
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
        post("/admin/comments/{comment_id:int}/block", moderation.block, "admin:block"),
        post("/admin/comments/{comment_id:int}/moderate", moderation.moderate_one, "admin:moderate"),
        Route("/admin/mail/{token}", mailactions.confirm, name="admin:mail-action"),
        post("/admin/mail/{token}", mailactions.act, "admin:mail-action-do"),
        Route("/admin/posts", content.post_list, name="admin:posts"),
        Route("/admin/posts/new", content.post_new, name="admin:post-new"),
        post("/admin/posts/new", content.post_save, "admin:post-create"),
        Route("/admin/posts/{post_id:int}", content.post_edit, name="admin:post-edit"),
        post("/admin/posts/{post_id:int}", content.post_save, "admin:post-update"),
        Route(
            "/admin/posts/{post_id:int}/delete", content.post_delete_confirm, name="admin:post-delete-confirm"
        ),
        post("/admin/posts/{post_id:int}/delete", content.post_delete, "admin:post-delete"),
        Route("/admin/pages", content.page_list, name="admin:pages"),
        Route("/admin/pages/new", content.page_new, name="admin:page-new"),
        post("/admin/pages/new", content.page_save, "admin:page-create"),
        Route("/admin/pages/{page_id:int}", content.page_edit, name="admin:page-edit"),
        post("/admin/pages/{page_id:int}", content.page_save, "admin:page-update"),
        Route(
            "/admin/pages/{page_id:int}/delete", content.page_delete_confirm, name="admin:page-delete-confirm"
        ),
        post("/admin/pages/{page_id:int}/delete", content.page_delete, "admin:page-delete"),
        Route("/admin/uploads", files.upload_list, name="admin:uploads"),
        post("/admin/uploads", files.upload, "admin:upload"),
        post("/admin/uploads/delete", files.delete, "admin:upload-delete"),
        Route("/admin/settings", site.settings_page, name="admin:settings"),
        post("/admin/settings", site.settings_save, "admin:settings-save"),
        Route("/admin/users", site.users_page, name="admin:users"),
        post("/admin/users", site.user_add, "admin:user-add"),
        post("/admin/users/{user_id:int}/delete", site.user_delete, "admin:user-delete"),
        Route("/admin/password", site.password_page, name="admin:password"),
        post("/admin/password", site.password_change, "admin:password-change"),
    ]


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
        *admin_routes(),
        Mount("/static", LayeredStaticFiles(static_dirs(settings)), name="static"),
        Mount("/uploads", UploadedFiles(directory=settings.uploads_dir, check_dir=False), name="uploads"),
        Route("/{slug}", public.static_page, name="page"),
    ]
