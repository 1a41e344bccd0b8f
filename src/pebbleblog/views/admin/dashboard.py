"""The dashboard: counts, recent comments, and a chart of comments per day."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pebbleblog import blog, notify
from pebbleblog import moderation_queue as queue
from pebbleblog.charts import comments_chart
from pebbleblog.models import CommentStatus, Session
from pebbleblog.views.admin.base import admin_page, render_admin
from pebbleblog.views.common import db_of, now, settings_of


@admin_page()
async def dashboard(request: Request, session: Session) -> Response:
    """Show the site at a glance."""
    db = db_of(request)
    recent = await queue.page_of(db, queue.QueueFilter(CommentStatus.PENDING), 1)
    return await render_admin(
        request,
        session,
        "admin/dashboard.html",
        {
            "post_counts": await blog.count_posts(db, now()),
            "recent": recent.items[:10],
            "chart": comments_chart(await queue.daily_activity(db, now())),
            "mail_configured": bool(settings_of(request).mail.host),
            "mail_problems": await notify.recent_problems(db, now()),
        },
    )
