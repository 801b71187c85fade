"""The HR report page and its sign-in cookie."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import auth


def test_page_without_a_key_redirects_to_sign_in(api: TestClient, run_id: str) -> None:  # type: ignore[type-arg]
    api.cookies.clear()
    response = api.get(f"/reports/{run_id}?provider=IT", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/reports/{run_id}%3Fprovider%3DIT"
    form = api.get("/login?next=/reports/x")
    assert form.status_code == 200 and 'name="key"' in form.text and 'for="key"' in form.text


@pytest.mark.parametrize(
    ("role", "ok"), [("hr", True), ("admin", True), ("integrator", False)], ids=["hr", "admin", "integrator"]
)
def test_sign_in_sets_a_cookie_only_for_report_readers(
    api: TestClient,
    keys: dict[str, str],
    run_id: str,
    role: str,
    ok: bool,  # type: ignore[type-arg]
) -> None:
    api.cookies.clear()
    response = api.post("/login", data={"key": keys[role], "next": f"/reports/{run_id}"}, follow_redirects=False)
    if not ok:
        assert response.status_code == 401 and "triage_key" not in response.cookies
        return
    assert response.status_code == 303 and response.headers["location"] == f"/reports/{run_id}"
    assert "httponly" in response.headers["set-cookie"].lower()
    page = api.get(f"/reports/{run_id}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_sign_in_never_redirects_off_site(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    response = api.post("/login", data={"key": keys["hr"], "next": "//evil.example/x"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_the_cookie_cannot_be_used_for_writes(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    api.cookies.clear()
    api.post("/login", data={"key": keys["admin"], "next": "/"}, follow_redirects=False)
    assert api.post("/v1/triage", json={"text": "slow"}).status_code == 401
    api.cookies.clear()


def test_page_shows_charts_trends_heatmap_actions_and_withheld(
    api: TestClient,
    keys: dict[str, str],
    run_id: str,
    analysed: Any,  # type: ignore[type-arg]
) -> None:
    html = api.get(f"/reports/{run_id}", headers=auth(keys["hr"])).text
    # A share chart per provider, and a trend chart where some cycle of a theme passed the threshold.
    assert html.count("<svg") >= 6 and html.count('role="img"') >= html.count("<svg")
    assert "Themes across cycles" in html and "2026-Q1" in html and "2026-Q2" in html
    assert "Which subjects fail in which way" in html or "Subjects" in html
    assert "withheld to protect anonymity" in html
    assert "Suggested actions" in html and "Evidence (" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace("http://www.w3.org", "")
    assert '<html lang="en">' in html and "<h1>" in html


def test_filters_narrow_the_page(api: TestClient, keys: dict[str, str], run_id: str) -> None:  # type: ignore[type-arg]
    only_it = api.get(f"/reports/{run_id}?provider=IT", headers=auth(keys["hr"])).text
    assert '<h2 id="p-1">IT</h2>' in only_it and ">Payroll</h2>" not in only_it and "Overview" not in only_it
    q2 = api.get(f"/reports/{run_id}?cycle=2026-Q2", headers=auth(keys["hr"])).text
    assert '<option value="2026-Q2" selected>' in q2
    assert api.get(f"/reports/{run_id}?cycle=1999", headers=auth(keys["hr"])).status_code == 200


def test_managers_cannot_open_pages_of_other_runs(api: TestClient, run_id: str, analysed: Any) -> None:  # type: ignore[type-arg]
    stranger = analysed[0].sql.create_key("manager", "page-stranger")
    assert api.get(f"/reports/{run_id}", headers=auth(stranger)).status_code == 404
