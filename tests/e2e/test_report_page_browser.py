"""The HR report page in a real headless browser: Debian's Chromium driven by Playwright, against `triage serve`.

One server per module (tests/e2e/conftest.py) with a real analysed run of the example survey, one browser, and one
browser context that signed in through the login form. Every page blocks any request that does not go to 127.0.0.1
and records it; none may be attempted. Screenshots go to test-output/ (gitignored), which CI keeps as artifacts.
"""

from __future__ import annotations

import re
import struct
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, ViewportSize, expect, sync_playwright

from tests.conftest import EXAMPLE_SURVEY
from tests.e2e.conftest import Server

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"browser tests need Debian's chromium at {CHROMIUM}; `make browser` installs it (as root)",
    ),
]

# Headless, and nothing of the browser's own that talks to the network (updates, sync, QUIC probes).
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
RUN_TIMEOUT_S = 240.0
WITHHELD_MARK = "—"  # what a table cell shows for a count under the anonymity threshold


@dataclass
class Traffic:
    """Requests seen by a page: those to 127.0.0.1 go on, every other one is aborted and recorded."""

    allowed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            self.allowed.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


def open_page(context: BrowserContext) -> tuple[Page, Traffic]:
    page = context.new_page()
    traffic = Traffic()
    page.route("**/*", traffic.route)
    return page, traffic


@dataclass
class SignIn:
    """What the sign-in through the form showed, and the context that now holds the key cookie."""

    context: BrowserContext
    login_url: str
    login_heading: str
    landing_url: str
    landing_status: int
    cookies: list[dict[str, Any]]
    traffic: Traffic


@dataclass
class Tab:
    page: Page
    traffic: Traffic


@dataclass(frozen=True)
class WithheldGroup:
    """A (department, theme) group under the threshold, and a department where the same theme is shown."""

    provider: str
    theme_id: str
    theme_name: str
    comments: int
    shown_in: str


@dataclass(frozen=True)
class Withheld:
    group: WithheldGroup
    texts: list[str]  # every comment of every withheld group, as stored (redacted)


@pytest.fixture(scope="module")
def run_id(server: Server) -> str:
    """The example survey uploaded by a manager and analysed to the end."""
    files = {"file": ("survey.csv", EXAMPLE_SURVEY.read_bytes(), "text/csv")}
    with server.client("manager") as client:
        upload = client.post("/v1/datasets", files=files)
        assert upload.status_code == 201, upload.text
        created = client.post(f"/v1/datasets/{upload.json()['id']}/runs")
        assert created.status_code == 202, created.text
        run: str = created.json()["id"]
        deadline = time.monotonic() + RUN_TIMEOUT_S
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = client.get(f"/v1/runs/{run}").json()
            if status["status"] == "succeeded":
                return run
            if status["status"] == "failed":
                pytest.fail(f"run failed: {status}\n{server.stderr()}")
            time.sleep(0.5)
    pytest.fail(f"run not finished after {RUN_TIMEOUT_S:.0f}s: {status}\n{server.stderr()}")


@pytest.fixture(scope="module")
def report(server: Server, run_id: str) -> dict[str, Any]:
    """The JSON report the page is rendered from, as HR reads it."""
    with server.client("hr") as client:
        response = client.get(f"/v1/reports/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert len(body["cycles"]) == 2, body["cycles"]
    return body


@pytest.fixture(scope="module")
def withheld(server: Server, report: dict[str, Any]) -> Withheld:
    """The groups the report withholds, found from the comments' own themes (the report names none of them)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    found, comment_id = 0, 0
    with server.client("hr") as client:
        # A fresh server holds only this run's comments, numbered from 1.
        while found < report["comments"] and comment_id < 2 * report["comments"]:
            comment_id += 1
            response = client.get(f"/v1/comments/{comment_id}")
            if response.status_code != 200:
                continue
            found += 1
            body = response.json()
            if body["themes"]:
                groups[(body["provider"], body["themes"][0])].append(body["redacted_text"])
    assert found == report["comments"]
    shown = {(p["provider"], t["id"]): t["theme_name"] for p in report["providers"] for t in p["themes"]}
    hidden = {key: texts for key, texts in groups.items() if key not in shown}
    for p in report["providers"]:
        mine = [len(texts) for (provider, _), texts in hidden.items() if provider == p["provider"]]
        # The premise: the comments whose theme the report does not show are exactly the withheld ones.
        assert (sum(mine), len(mine)) == (p["withheld"]["count"], p["withheld"]["themes"]), p["provider"]
    candidates = sorted(
        (-len(texts), provider, theme_id, other)
        for (provider, theme_id), texts in hidden.items()
        for (other, shown_id) in shown
        if shown_id == theme_id and other != provider
    )
    assert candidates, "no withheld theme is shown for another department, so none can be named on the page"
    count, provider, theme_id, other = candidates[0]
    group = WithheldGroup(provider, theme_id, shown[(other, theme_id)], -count, other)
    return Withheld(group, [text for texts in hidden.values() for text in texts])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, server: Server, run_id: str) -> Iterator[SignIn]:
    """Open the report without a key, land on the form, type the hr key, submit; the context keeps the cookie."""
    context = browser.new_context(base_url=server.base_url, viewport=VIEWPORT)
    page, traffic = open_page(context)
    page.goto(f"/reports/{run_id}")
    login_url, login_heading = page.url, page.get_by_role("heading", level=1).inner_text()
    page.get_by_label("API key").press_sequentially(server.keys["hr"])
    with page.expect_response(lambda r: r.request.method == "GET" and f"/reports/{run_id}" in r.url) as landing:
        page.get_by_role("button", name="Open the report").click()
    page.wait_for_load_state()
    yield SignIn(
        context,
        login_url,
        login_heading,
        page.url,
        landing.value.status,
        [dict(c) for c in context.cookies()],
        traffic,
    )
    context.close()


@pytest.fixture
def tab(signed_in: SignIn) -> Iterator[Tab]:
    """A fresh page in the signed-in context; afterwards, nothing it loaded may have left 127.0.0.1."""
    page, traffic = open_page(signed_in.context)
    yield Tab(page, traffic)
    page.close()
    assert traffic.blocked == [], f"requests beyond the server: {traffic.blocked}"


def open_report(tab: Tab, run_id: str, query: str = "") -> Page:
    response = tab.page.goto(f"/reports/{run_id}{query}")
    assert response is not None and response.status == 200, response and response.status
    return tab.page


def section(page: Page, provider: str) -> Locator:
    return page.locator("section", has=page.get_by_role("heading", level=2, name=provider, exact=True))


def theme_headings(page: Page, provider: str) -> list[str]:
    return [text.strip() for text in section(page, provider).locator("article.theme h3").all_inner_texts()]


def filter_select(page: Page, label: str) -> Locator:
    """A filter's select by the accessible name its label gives it (a wrapping label also adds the option texts)."""
    return page.get_by_role("combobox", name=re.compile(rf"^{label}\b"))


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def screenshot(page: Page, name: str) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / name
    page.screenshot(path=path, full_page=True)
    return path


def normalise(text: str) -> str:
    return " ".join(text.split())


def test_sign_in_with_the_form_lands_on_the_report(signed_in: SignIn, server: Server, run_id: str) -> None:
    login = urlsplit(signed_in.login_url)
    assert login.path == "/login" and parse_qs(login.query)["next"] == [f"/reports/{run_id}"]
    assert signed_in.login_heading == "Sign in"
    assert signed_in.landing_url == f"{server.base_url}/reports/{run_id}"
    assert signed_in.landing_status == 200
    cookie = next(c for c in signed_in.cookies if c["name"] == "triage_key")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert signed_in.traffic.allowed and signed_in.traffic.blocked == []


def test_sign_in_refuses_a_key_that_may_not_read_reports(browser: Browser, server: Server, run_id: str) -> None:
    context = browser.new_context(base_url=server.base_url, viewport=VIEWPORT)
    try:
        page, traffic = open_page(context)
        page.goto(f"/login?next=/reports/{run_id}")
        page.get_by_label("API key").press_sequentially(server.keys["integrator"])
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Open the report").click()
        assert answer.value.status == 401
        expect(page.get_by_role("alert")).to_contain_text("may not read reports")
        assert urlsplit(page.url).path == "/login"
        assert [c["name"] for c in context.cookies()] == []
        assert traffic.blocked == []
    finally:
        context.close()


def test_page_blocks_and_records_any_request_beyond_the_server(signed_in: SignIn, run_id: str) -> None:
    page, traffic = open_page(signed_in.context)
    try:
        page.goto(f"/reports/{run_id}")
        assert traffic.allowed and traffic.blocked == []
        # The blocker itself: another loopback address stands in for the internet, so nothing leaves the machine.
        outcome = page.evaluate("() => fetch('http://127.0.0.2:9/probe').then(() => 'sent', () => 'blocked')")
        assert outcome == "blocked"
        assert traffic.blocked == ["http://127.0.0.2:9/probe"]
    finally:
        page.close()


def test_report_has_one_h1_and_an_h2_per_department(tab: Tab, report: dict[str, Any], run_id: str) -> None:
    page = open_report(tab, run_id)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).all_inner_texts() == [report["dataset_name"]]
    h2 = [text.strip() for text in page.get_by_role("heading", level=2).all_inner_texts()]
    since = ["Since the last run"] if report["tracked"] or report["tracked_gone"] else []
    assert h2 == ["Overview", *(p["provider"] for p in report["providers"]), *since]


def test_full_page_screenshot_is_written(tab: Tab, run_id: str) -> None:
    page = open_report(tab, run_id)
    path = screenshot(page, "report-page.png")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert png_size(path) == (VIEWPORT["width"], height)


def test_share_charts_draw_one_bar_per_theme_scaled_to_its_share(tab: Tab, report: dict[str, Any], run_id: str) -> None:
    page = open_report(tab, run_id)
    for svg in page.locator("svg").all():
        box = svg.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0
    for p in report["providers"]:
        bars = section(page, p["provider"]).locator("figure svg").first.locator("rect")
        widths = bars.evaluate_all("rects => rects.map(r => r.getBoundingClientRect().width)")
        shares = [t["share"] for t in p["themes"]]
        assert len(widths) == len(shares), p["provider"]
        assert all(w > 0 for w in widths), (p["provider"], widths)
        # Bars share one scale: each bar's width relative to the widest matches its share relative to the largest.
        assert [round(w / max(widths), 2) for w in widths] == pytest.approx(
            [round(s / max(shares), 2) for s in shares], abs=0.02
        ), p["provider"]


def test_cycle_table_and_trend_chart_show_both_cycles(tab: Tab, report: dict[str, Any], run_id: str) -> None:
    page = open_report(tab, run_id)
    cycles = report["cycles"]
    charted_providers = 0
    for p in report["providers"]:
        where = section(page, p["provider"])
        table = where.locator("table", has=page.locator("caption", has_text="Comments per cycle"))
        assert [h.strip() for h in table.locator("thead th").all_inner_texts()] == ["Theme", *cycles, "Trend"]
        rows = table.locator("tbody tr")
        expected = [
            [
                t["theme_name"],
                *(str(n) if (n := t["cycles"][c]) is not None else WITHHELD_MARK for c in cycles),
                t["trend"],
            ]
            for t in p["themes"]
        ]
        shown = [[c.strip() for c in row.locator("th, td").all_inner_texts()] for row in rows.all()]
        assert shown == expected, p["provider"]
        counts = [n for t in p["themes"] for n in t["cycles"].values() if n is not None]
        figures = where.locator("figure svg")
        if counts:
            charted_providers += 1
            trend = figures.nth(1)
            box = trend.bounding_box()
            assert box is not None and box["width"] > 0 and box["height"] > 0
            assert trend.locator("rect").count() == len(counts), p["provider"]
            labels = trend.text_content() or ""
            assert all(f"{c}:" in labels for c in cycles), p["provider"]
        else:
            assert figures.count() == 1, f"{p['provider']}: a trend chart with nothing to draw"
    assert charted_providers > 0, "no department has a cycle count above the threshold: no trend chart at all"


def test_department_filter_shows_only_that_department(tab: Tab, report: dict[str, Any], run_id: str) -> None:
    # The department with the most cycle counts above the threshold, so its screenshot has a trend chart.
    chosen = max(
        report["providers"], key=lambda p: sum(n is not None for t in p["themes"] for n in t["cycles"].values())
    )
    page = open_report(tab, run_id)
    filter_select(page, "Department").select_option(chosen["provider"])
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(lambda url: "provider=" in url)
    assert query_of(page)["provider"] == [chosen["provider"]]
    assert filter_select(page, "Department").input_value() == chosen["provider"]
    h2 = [text.strip() for text in page.get_by_role("heading", level=2).all_inner_texts()]
    assert h2 == [chosen["provider"]]
    assert page.locator("article.theme").count() == len(chosen["themes"])
    path = screenshot(page, f"report-page-{re.sub(r'[^A-Za-z0-9]+', '-', chosen['provider'])}.png")
    assert png_size(path)[0] == VIEWPORT["width"]


def test_cycle_filter_keeps_the_chosen_cycle(tab: Tab, report: dict[str, Any], run_id: str) -> None:
    cycle = report["cycles"][-1]
    page = open_report(tab, run_id)
    filter_select(page, "Cycle").select_option(cycle)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(lambda url: "cycle=" in url)
    assert query_of(page)["cycle"] == [cycle]
    assert filter_select(page, "Cycle").input_value() == cycle
    assert filter_select(page, "Department").input_value() == ""
    for p in report["providers"]:
        # Only themes whose count in that cycle passed the threshold get a bar.
        passed = [t for t in p["themes"] if t["cycles"][cycle] is not None]
        bars = section(page, p["provider"]).locator("figure svg").first.locator("rect")
        assert bars.count() == len(passed), p["provider"]


def test_a_group_under_the_threshold_stays_hidden(
    tab: Tab, report: dict[str, Any], withheld: Withheld, run_id: str
) -> None:
    group = withheld.group
    page = open_report(tab, run_id)
    counts = next(p["withheld"] for p in report["providers"] if p["provider"] == group.provider)
    note = section(page, group.provider).locator(".withheld")
    expect(note).to_contain_text(f"{counts['count']} comments in {counts['themes']} smaller themes")
    overview = page.locator("section", has=page.get_by_role("heading", level=2, name="Overview"))
    row = overview.locator("tbody tr", has=page.get_by_role("rowheader", name=group.provider, exact=True))
    assert row.locator("td").last.inner_text().strip() == str(counts["count"])
    named = re.compile(rf"^{re.escape(group.theme_name)}(:|\s|$)")
    # The same theme is a heading where it passed the threshold, so its absence below means something.
    assert any(named.match(h) for h in theme_headings(page, group.shown_in)), group
    assert [h for h in theme_headings(page, group.provider) if named.match(h)] == [], group
    assert page.locator(f"[id='t-{group.provider.replace(' ', '-')}-{group.theme_id}']").count() == 0
    # No comment of any withheld group is quoted or cited, even inside the closed evidence lists.
    body = normalise(page.locator("body").evaluate("b => b.textContent"))
    assert [text for text in withheld.texts if normalise(text) in body] == []


def test_tab_reaches_the_filters_and_apply_with_a_visible_focus(tab: Tab, run_id: str) -> None:
    page = open_report(tab, run_id)
    reached: list[dict[str, Any]] = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                """() => {
                    const e = document.activeElement, s = getComputedStyle(e);
                    return {tag: e.tagName, name: e.getAttribute('name') || e.textContent.trim(),
                            visible: e.matches(':focus-visible'), outline: s.outlineStyle,
                            width: parseFloat(s.outlineWidth)};
                }"""
            )
        )
    order = [(r["tag"], r["name"]) for r in reached]
    targets = [("SELECT", "provider"), ("SELECT", "cycle"), ("BUTTON", "Apply")]
    assert all(t in order for t in targets), order
    assert [order.index(t) for t in targets] == sorted(order.index(t) for t in targets), order
    for target in targets:
        focused = reached[order.index(target)]
        assert focused["visible"] and focused["outline"] != "none" and focused["width"] >= 2, focused


def test_selects_tables_and_charts_are_labelled(tab: Tab, run_id: str) -> None:
    page = open_report(tab, run_id)
    selects = page.locator("select").all()
    assert len(selects) == 2
    for select in selects:
        assert select.evaluate("s => s.labels.length") == 1
        expect(select).to_have_accessible_name(re.compile(r"\S"))
    tables = page.locator("table").all()
    assert tables
    for table in tables:
        caption = table.locator("caption")
        has_caption = caption.count() == 1 and caption.inner_text().strip() != ""
        assert has_caption or table.locator("th").count() > 0, table.inner_html()[:200]
    charts = page.locator("svg").all()
    assert charts
    for chart in charts:
        expect(chart).to_have_role("img")
        expect(chart).to_have_accessible_name(re.compile(r"\S"))
    for figure in page.locator("figure").all():
        expect(figure).to_have_role("img")
        expect(figure).to_have_accessible_name(re.compile(r"^Bar chart: "))
