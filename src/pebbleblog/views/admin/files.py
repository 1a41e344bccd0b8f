"""Uploads (owner only): list, upload, delete."""

from __future__ import annotations

from urllib.parse import quote_plus

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from pebbleblog import uploads
from pebbleblog.errors import FormInvalid
from pebbleblog.forms import form_text as text
from pebbleblog.limits import mark_upload
from pebbleblog.models import Session
from pebbleblog.views.admin.base import admin_action, admin_page, back_to, render_admin
from pebbleblog.views.common import settings_of


@admin_page(owner_only=True)
async def upload_list(request: Request, session: Session) -> Response:
    """List the uploaded files."""
    return await _page(request, session)


@mark_upload
@admin_action(owner_only=True, files=1)
async def upload(request: Request, session: Session, form: FormData) -> Response:
    """Store an uploaded file after checking its size and content."""
    file = form.get("file")
    limit = _max_bytes(request)
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise FormInvalid("Choose a file to upload.", {"file": "Choose a file to upload."})
        content = await file.read(limit + 1)
        name = uploads.store(settings_of(request).uploads_dir, file.filename, content, limit)
    except FormInvalid as invalid:
        return await _page(request, session, invalid)
    return back_to(
        request, "admin:uploads", f"done=Uploaded+{quote_plus(name)}+(link+it+as+upload:{quote_plus(name)})."
    )


@admin_action(owner_only=True)
async def delete(request: Request, session: Session, form: FormData) -> Response:
    """Delete an uploaded file."""
    uploads.delete(settings_of(request).uploads_dir, text(form, "name"))
    return back_to(request, "admin:uploads", "done=File+deleted.")


def _max_bytes(request: Request) -> int:
    return settings_of(request).server.max_upload_mb * 1024 * 1024


async def _page(request: Request, session: Session, invalid: FormInvalid | None = None) -> Response:
    return await render_admin(
        request,
        session,
        "admin/uploads.html",
        {
            "files": uploads.list_uploads(settings_of(request).uploads_dir),
            "errors": invalid.fields if invalid else {},
            "message": invalid.message if invalid else "",
            "max_mb": settings_of(request).server.max_upload_mb,
            "done": request.query_params.get("done", "")[:200],
        },
        status_code=400 if invalid else 200,
    )
