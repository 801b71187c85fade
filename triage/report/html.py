"""The HR report page: server-rendered HTML (Jinja2) with inline SVG charts, filters and exports."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from triage.report.charts import cycle_trends, share_bars
from triage.report.render import describe_usage
from triage.types import ProviderReport, Report, ReportTheme

_ENV = Environment(loader=PackageLoader("triage.report", "templates"), autoescape=select_autoescape(["html", "j2"]))


@dataclass(frozen=True)
class ProviderView:
    report: ProviderReport
    themes: list[ReportTheme]
    """The themes shown: all, or with a cycle filter those that passed the threshold in that cycle."""
    bars: Markup
    trends: Markup | None
    heat_themes: list[tuple[str, str]]
    heat_max: int


def _view(p: ProviderReport, cycles: list[str], cycle: str | None) -> ProviderView:
    themes = p.themes
    shares = [t.share for t in themes]
    if cycle:
        # A cycle filter shows only counts that passed the threshold in that cycle, as shares of that cycle.
        themes = [t for t in themes if t.cycles.get(cycle)]
        total = p.cycle_comments.get(cycle) or 1
        shares = [(t.cycles.get(cycle) or 0) / total for t in themes]
    bars = share_bars([t.theme_name for t in themes], shares, [t.mean_rating for t in themes]) if themes else ""
    trends = None
    # Chart only themes with a cycle above the threshold; the table under the chart lists them all.
    charted = {t.theme_name: [t.cycles.get(c) for c in cycles] for t in themes if any(t.cycles.values())}
    if len(cycles) > 1 and charted:
        trends = Markup(cycle_trends(cycles, charted))
    heat_ids = list(dict.fromkeys(theme for s in p.subjects for theme in s.themes))
    names = {t.id: t.theme_name for t in p.themes}
    heat_max = max((n for s in p.subjects for n in s.themes.values()), default=1)
    return ProviderView(p, themes, Markup(bars), trends, [(i, names.get(i, i)) for i in heat_ids], heat_max)


def render_html(report: Report, evidence: dict[int, str], provider: str | None = None, cycle: str | None = None) -> str:
    """The page for one run; `provider` and `cycle` filter what is shown (never below the threshold)."""
    providers = [p for p in report.providers if provider in (None, p.provider)]
    views = [_view(p, report.cycles, cycle if cycle in report.cycles else None) for p in providers]
    template = _ENV.get_template("report.html.j2")
    return template.render(
        report=report,
        views=views,
        evidence=evidence,
        provider=provider,
        cycle=cycle if cycle in report.cycles else None,
        all_providers=[p.provider for p in report.providers],
        usage=describe_usage(report.usage) if report.usage else None,
    )


def render_login(next_url: str, error: str | None = None) -> str:
    return _ENV.get_template("login.html.j2").render(next_url=next_url, error=error)
