"""A load test's report as one self-contained HTML page with inline SVG plots.

Latency over time (p50/p95/p99 and mean per second), throughput per second, and each
placement change as a marked vertical line; a summary table. No scripts or styles are
fetched from anywhere: the page works offline. Non-goal: interactive charts.
"""

from __future__ import annotations

import html
import json
from typing import Any

# Pixels: plot size and margins.
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 20, 40
SERIES = (("p50_ms", "#1f77b4"), ("p95_ms", "#ff7f0e"), ("p99_ms", "#d62728"),
          ("mean_ms", "#2ca02c"))  # fmt: skip
# Marks every plot that the browser laid out (a headless check reads it).
LAYOUT_CHECK = """<script>
document.body.dataset.plotsRendered = Array.from(document.querySelectorAll("svg.plot"))
  .filter(svg => svg.getBBox().width > 0).length;
</script>"""


def render_loadtest(report: dict[str, Any]) -> str:
    data = report.get("data", report)
    request = data.get("request", {})
    timeline = data.get("timeline") or []
    changes = [
        {**c, "t": c["at"] - data["start_at"]}
        for c in data.get("placement_changes") or []
        if data.get("start_at") is not None
    ]
    title = f"JSORC load test {report.get('id', '')}: {request.get('app', '?')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style>",
        "</head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(_describe(request))}</p>",
        _summary_table(data.get("summary") or {}),
        "<h2>Latency over time</h2>",
        line_plot(timeline, changes, duration=request.get("duration") or 1),
        "<h2>Throughput</h2>",
        bar_plot(timeline, changes, duration=request.get("duration") or 1),
        "<h2>Placement changes</h2>",
        _changes_table(changes),
        f'<script type="application/json" id="report">{_json(data)}</script>',
        LAYOUT_CHECK,
        "</body></html>",
    ]
    return "\n".join(parts)


def line_plot(timeline: list[dict], changes: list[dict], *, duration: float) -> str:
    top = max([p.get(k) or 0 for p in timeline for k, _ in SERIES] + [1e-3]) * 1.1
    body = _axes(duration, top, "ms")
    for key, colour in SERIES:
        points = [
            f"{_x(p['t'] + 0.5, duration):.1f},{_y(p[key], top):.1f}"
            for p in timeline
            if p.get(key) is not None
        ]
        if points:
            body.append(
                f'<polyline class="series {key}" fill="none" stroke="{colour}" '
                f'stroke-width="2" points="{" ".join(points)}"/>'
            )
    body += _change_marks(changes, duration)
    body += _legend()
    return _svg("latency", body)


def bar_plot(timeline: list[dict], changes: list[dict], *, duration: float) -> str:
    top = max([p.get("throughput_rps") or 0 for p in timeline] + [1]) * 1.1
    body = _axes(duration, top, "req/s")
    width = max(1.0, (WIDTH - LEFT - RIGHT) / max(duration, 1) - 2)
    for point in timeline:
        x, y = _x(point["t"], duration) + 1, _y(point["throughput_rps"], top)
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{HEIGHT - BOTTOM - y:.1f}" fill="#1f77b4"/>'
        )
    body += _change_marks(changes, duration)
    return _svg("throughput", body)


def _axes(duration: float, top: float, unit: str) -> list[str]:
    out = [
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
        f'y2="{HEIGHT - BOTTOM}" stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="black"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 5}" text-anchor="middle">seconds</text>',
        f'<text x="10" y="{TOP + 10}">{_e(unit)}</text>',
    ]
    for i in range(5):
        value = top * i / 4
        out.append(
            f'<text x="{LEFT - 5}" y="{_y(value, top) + 4:.1f}" text-anchor="end" '
            f'font-size="10">{value:.3g}</text>'
        )
    for i in range(6):
        t = duration * i / 5
        out.append(
            f'<text x="{_x(t, duration):.1f}" y="{HEIGHT - BOTTOM + 14}" '
            f'text-anchor="middle" font-size="10">{t:.3g}</text>'
        )
    return out


def _change_marks(changes: list[dict], duration: float) -> list[str]:
    out = []
    for change in changes:
        x = _x(min(max(change["t"], 0), duration), duration)
        label = f"{change['action']} → {change['mode']} {change['status']}"
        out.append(
            f'<line class="placement-change" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" '
            f'y2="{HEIGHT - BOTTOM}" stroke="#9467bd" stroke-dasharray="4 3">'
            f"<title>{_e(label)}</title></line>"
        )
    return out


def _legend() -> list[str]:
    return [
        f'<text x="{WIDTH - RIGHT - 80}" y="{TOP + 14 * (i + 1)}" fill="{colour}" '
        f'font-size="11">{key}</text>'
        for i, (key, colour) in enumerate(SERIES)
    ]


def _svg(name: str, body: list[str]) -> str:
    return (
        f'<svg class="plot" id="{name}" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{name}">'
        + "".join(body)
        + "</svg>"
    )


def _x(t: float, duration: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * t / max(duration, 1e-9)


def _y(value: float, top: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * value / top


def _summary_table(summary: dict[str, Any]) -> str:
    columns = ("count", "errors", "throughput_rps", "mean_ms", "p50_ms", "p90_ms", "p95_ms",
               "p99_ms")  # fmt: skip
    head = "".join(f"<th>{c}</th>" for c in columns)
    row = "".join(f"<td>{_e(str(summary.get(c, '')))}</td>" for c in columns)
    return f'<table id="summary"><tr>{head}</tr><tr>{row}</tr></table>'


def _changes_table(changes: list[dict]) -> str:
    if not changes:
        return "<p>No placement changed during the test.</p>"
    rows = "".join(
        f"<tr><td>{c['t']:.2f}</td><td>{_e(c['action'])}</td><td>{_e(c['mode'])}</td>"
        f"<td>{_e(c['status'])}</td><td>{_e(c.get('reason', ''))}</td></tr>"
        for c in changes
    )
    return (
        '<table id="changes"><tr><th>t (s)</th><th>action</th><th>mode</th><th>status</th>'
        f"<th>reason</th></tr>{rows}</table>"
    )


def _describe(request: dict[str, Any]) -> str:
    load = (
        f"open loop at {request['rate']:g} req/s"
        if request.get("rate")
        else f"closed loop, concurrency {request.get('concurrency')}"
    )
    return (
        f"{request.get('duration', 0):g} s, {load}, policy {request.get('policy')}, "
        f"{request.get('shards', 1)} shard(s)"
    )


def _e(text: str) -> str:
    return html.escape(str(text))


def _json(data: Any) -> str:
    return json.dumps(data).replace("</", "<\\/")
