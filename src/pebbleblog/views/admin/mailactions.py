"""The pages behind the Approve / Spam / Trash links of notification mails: confirm, then act.

No sign-in is needed (the owner may read the mail on a phone where they are not signed in): the
signed, expiring link is the authority, see :mod:`pebbleblog.maillinks`. CSRF without a session:

- the POST's own address carries the signed link token, which only the mail's recipients have, so
  another site cannot build a request that does anything;
- :func:`check_same_origin` refuses a POST that the browser says came from another site;
- the form carries a second signed token, bound to the same comment and action and valid for an hour,
  so the POST must follow a confirmation page this site rendered.

GET never changes anything, so mail providers' link scanners cannot act.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pebbleblog import maillinks
from pebbleblog.forms import form_text as text
from pebbleblog.limits import read_form
from pebbleblog.maillinks import MailLink
from pebbleblog.security import check_same_origin, mark_csrf_protected
from pebbleblog.templating import url_path
from pebbleblog.views.common import db_of, now, render, settings_of, signer_of


async def confirm(request: Request) -> Response:
    """Show the comment and what the link will do, with a button to confirm; change nothing."""
    link = await _link(request)
    return await _page(request, link, just_done=request.query_params.get("done") == "1")


async def act(request: Request) -> Response:
    """Apply the link's action once confirmed, then show the result (post/redirect/get)."""
    check_same_origin(request)
    link = await _link(request)
    form = await read_form(request, max_fields=5, max_part_size=4096)
    maillinks.check_confirmation(signer_of(request), link, text(form, "confirm"))
    if link.actionable:
        await maillinks.act(db_of(request), link, now())
    elif not link.done:
        return await _page(request, link, status_code=409)
    target = url_path(request, "admin:mail-action", token=request.path_params["token"]) + "?done=1"
    return RedirectResponse(target, status_code=303)


act = mark_csrf_protected(act, "same origin + signed mail-link token + signed confirmation-form token")


async def _link(request: Request) -> MailLink:
    return await maillinks.read_link(
        db_of(request), settings_of(request), signer_of(request), request.path_params["token"], now()
    )


async def _page(
    request: Request, link: MailLink, *, just_done: bool = False, status_code: int = 200
) -> Response:
    response = await render(
        request,
        "admin/mail_action.html",
        {
            "link": link,
            "token": request.path_params["token"],
            "confirm": maillinks.confirm_token(signer_of(request), link) if link.actionable else "",
            "just_done": just_done,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the address holds the link's token
    response.headers["X-Robots-Tag"] = "noindex"
    return response
