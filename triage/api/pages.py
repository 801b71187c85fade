"""Browser pages: the HR report page and the sign-in form that sets a key cookie."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.enums import MediaType, RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import Body
from litestar.response import Redirect
from pydantic import BaseModel

from triage import pipeline
from triage.api.auth import COOKIE, READ_ALL, LoginRequired, check_owner
from triage.errors import NotFound
from triage.pipeline import Services
from triage.report.html import render_html, render_login
from triage.store.sql import KeyInfo

HTML = MediaType.HTML  # Litestar adds "; charset=utf-8"
COOKIE_MAX_AGE = 8 * 3600


class LoginForm(BaseModel):
    key: str = ""
    next: str = "/"


def _safe_next(url: str) -> str:
    """Only same-site paths: never redirect to another host."""
    return url if url.startswith("/") and not url.startswith("//") else "/"


@get(
    "/reports/{run_id:str}",
    opt={"roles": ("manager", *READ_ALL), "page": True, "audit": "report.page"},
    sync_to_thread=True,
    media_type=HTML,
)
def report_page(
    run_id: str, services: Services, caller: KeyInfo, provider: str | None = None, cycle: str | None = None
) -> Response[str]:
    """The HR report page of a finished run, with charts, filters and exports."""
    if services.sql.run(run_id) is None:
        raise NotFound(f"run {run_id} not found")
    check_owner(caller, services.sql.run_owner(run_id), f"run {run_id}")
    report = pipeline.get_report(services, run_id)
    cited = {i for p in report.providers for t in p.themes for a in t.actions for i in a.evidence}
    html = render_html(report, services.sql.comment_texts(sorted(cited)), provider or None, cycle or None)
    return Response(html, media_type=HTML)


@get("/login", sync_to_thread=False, media_type=HTML)
def login_form(next: str = "/") -> Response[str]:
    return Response(render_login(_safe_next(next)), media_type=HTML)


@post(
    "/login",
    sync_to_thread=True,
    status_code=303,
    media_type=HTML,
    responses={
        401: ResponseSpec(str, media_type=HTML, description="Unknown or revoked key, or one that may not read reports.")
    },
)
def login(
    data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)], services: Services
) -> Response[Any]:
    """Check the key and keep it in an HttpOnly cookie for page reads."""
    target = _safe_next(data.next)
    caller = services.sql.verify_key(data.key.strip()) if data.key.strip() else None
    if caller is None or caller.role == "integrator":
        return Response(
            render_login(target, "That key is unknown, revoked, or may not read reports."),
            media_type=HTML,
            status_code=401,
        )
    response: Response[Any] = Redirect(path=target, status_code=303)
    response.set_cookie(COOKIE, data.key.strip(), max_age=COOKIE_MAX_AGE, httponly=True, samesite="strict", path="/")
    return response


def login_redirect(request: Request[Any, Any, Any], _: LoginRequired) -> Response[Any]:
    return Redirect(
        path=f"/login?next={quote(request.url.path + ('?' + request.url.query if request.url.query else ''))}",
        status_code=303,
    )


PAGES = [report_page, login_form, login]
