"""What the page draws itself: prep notes from Markdown, and the stage-over-time chart as SVG.

Event text comes from strangers (anyone can send an invitation), so a note is rendered with raw
HTML off and links only to ``http``, ``https`` and ``mailto``; everything else is text. The chart
is built from numbers and stage names only, escaped, with no script and no style attribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markupsafe import Markup

from mendcrm.stages import StageStep

_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


def _link_ok(url: str) -> bool:
    # markdown-it has already normalised the URL (entities decoded, percent-encoded).
    scheme = urlsplit(url.strip()).scheme.lower()
    return scheme in _SAFE_SCHEMES


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = _link_ok  # type: ignore[method-assign]
    md.disable("image")  # an image would load from another origin; the CSP refuses it anyway
    return md


_MD = _markdown()


def note_html(text: str) -> Markup:
    """Given a note's Markdown, return safe HTML: raw HTML shown as text, links only http(s) and
    mailto (others stay text), no images."""
    html = _MD.render(text)
    # Links leave for other sites without telling them where from.
    html = html.replace("<a href=", '<a rel="noopener noreferrer nofollow" href=')
    return Markup(html)


CHART_STAGES: tuple[str, ...] = ("let-go", "strained", "cordial", "talking", "rebuilding", "mended")
"""The chart's rows, bottom to top (``none``: not being mended, drawn as a gap)."""

_W, _H, _LEFT, _TOP, _ROW = 640, 190, 86, 12, 28


def stage_chart(
    steps: Sequence[StageStep], now: datetime, *, title: str = "Stage over time"
) -> Markup:
    """Given a contact's stage history (oldest first) and the time, return an SVG step chart of
    the stage over time (x: time from the first step to now; y: the stages), with a text title
    and a description listing the steps for screen readers. Empty markup if there is no step."""
    if not steps:
        return Markup("")
    start = steps[0].at
    span = max(now - start, timedelta(days=1))
    width = _W - _LEFT - 12

    def x(when: datetime) -> float:
        return _LEFT + width * ((when - start) / span)

    def y(stage: str) -> float | None:
        if stage not in CHART_STAGES:
            return None
        return _TOP + _ROW * (len(CHART_STAGES) - 1 - CHART_STAGES.index(stage)) + _ROW / 2

    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
        '<desc id="chart-desc">'
        + escape("; ".join(f"{s.at:%Y-%m-%d}: {s.after}" for s in steps))
        + "</desc>",
    ]
    for stage in CHART_STAGES:
        row = y(stage) or 0.0
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - 12}" y1="{row:.1f}" y2="{row:.1f}"/>'
            f'<text class="label" x="{_LEFT - 6}" y="{row + 4:.1f}">{escape(stage)}</text>'
        )
    points: list[tuple[float, float | None]] = []
    for index, step in enumerate(steps):
        end = steps[index + 1].at if index + 1 < len(steps) else now
        points.append((x(step.at), y(step.after)))
        points.append((x(end), y(step.after)))
    segment: list[str] = []
    for px, py in [*points, (0.0, None)]:
        if py is None:
            if len(segment) > 1:
                parts.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
            segment = []
            continue
        segment.append(f"{px:.1f},{py:.1f}")
    for step in steps:
        py = y(step.after)
        if py is not None:
            parts.append(f'<circle class="dot" cx="{x(step.at):.1f}" cy="{py:.1f}" r="4"/>')
    bottom = _TOP + _ROW * len(CHART_STAGES) + 14
    parts.append(f'<text class="axis" x="{_LEFT}" y="{bottom}">{start:%d %b %Y}</text>')
    parts.append(
        f'<text class="axis end" x="{_W - 12}" y="{bottom}">{escape(f"{now:%d %b %Y}")}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


__all__ = ["CHART_STAGES", "note_html", "stage_chart"]
