"""Server-rendered SVG charts (line, bar, sparkline), each with a text alternative.

No JavaScript and no inline style (the CSP forbids it): presentation attributes only. Every
chart carries a <title> and <desc> and comes with the same numbers as a table, so a screen
reader, a printout and a person who cannot tell the colours apart all get the data. Series
differ by line pattern and marker shape as well as by colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

WIDTH, HEIGHT = 360, 230
LEFT, RIGHT, TOP, BOTTOM = 36, 14, 14, 34
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"'
GRID = "#d8dde0"
INK = "#0b0c0c"
MUTED = "#4c6272"
MAX_X_LABELS = 5

# Colours with a 3:1 contrast on white, and a dash pattern and marker for each.
STYLES = (
    {"colour": "#d5281b", "dash": "", "marker": "circle"},
    {"colour": "#005eb8", "dash": "7 5", "marker": "square"},
    {"colour": "#007f3b", "dash": "2 4", "marker": "triangle"},
)


@dataclass
class Series:
    """One line: a label and one value per x position (None where nothing was recorded)."""

    label: str
    values: Sequence[float | None]


@dataclass
class Chart:
    """An SVG and the same numbers as table rows; `figure()` renders both."""

    chart_id: str
    title: str
    svg: Markup
    columns: list[str]
    rows: list[list[str]]
    table_label: str = "Show the numbers"
    legend: list[tuple[str, dict]] = field(default_factory=list)

    def table(self) -> Markup:
        head = "".join(f'<th scope="col">{escape(c)}</th>' for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(
                (f'<th scope="row">{escape(cell)}</th>' if i == 0 else f"<td>{escape(cell)}</td>")
                for i, cell in enumerate(row)
            )
            + "</tr>"
            for row in self.rows
        )
        return Markup(
            f'<table class="table chart-table"><caption class="visually-hidden">'
            f"{escape(self.title)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )

    def figure(self) -> Markup:
        """The chart, its legend and its numbers (in a details element) as one figure."""
        legend = ""
        if self.legend:
            legend = (
                '<ul class="chart-legend">'
                + "".join(
                    f"<li>{_legend_swatch(style)} {escape(label)}</li>"
                    for label, style in self.legend
                )
                + "</ul>"
            )
        return Markup(
            f'<figure class="chart" id="{escape(self.chart_id)}">{self.svg}{legend}'
            f'<details class="chart-details"><summary>{escape(self.table_label)}</summary>'
            f"{self.table()}</details></figure>"
        )


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def _legend_swatch(style: dict) -> Markup:
    marker = _marker(18, 7, style) if style.get("marker") != "none" else ""
    return Markup(
        f'<svg class="chart-swatch" viewBox="0 0 36 14" width="36" height="14" aria-hidden="true"'
        f' focusable="false"><line x1="2" y1="7" x2="34" y2="7" stroke="{style["colour"]}"'
        f' stroke-width="3" stroke-dasharray="{style["dash"]}"/>{marker}</svg>'
    )


def _marker(x: float, y: float, style: dict) -> str:
    colour = style["colour"]
    if style["marker"] == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if style["marker"] == "triangle":
        points = f"{x:.1f},{y - 5:.1f} {x - 5:.1f},{y + 4:.1f} {x + 5:.1f},{y + 4:.1f}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>'


def _label_positions(count: int) -> set[int]:
    if count <= MAX_X_LABELS:
        return set(range(count))
    step = (count - 1) / (MAX_X_LABELS - 1)
    return {round(i * step) for i in range(MAX_X_LABELS)}


def _open_svg(chart_id: str, title: str, desc: str) -> str:
    return (
        f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" {FONT}>'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
    )


def _y_axis(y_min: float, y_max: float, ticks: Sequence[float], unit: str) -> list[str]:
    parts = []
    plot_w = WIDTH - LEFT - RIGHT
    for tick in ticks:
        y = _y(tick, y_min, y_max)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="{GRID}"'
            ' stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="14"'
            f' fill="{MUTED}">{escape(_fmt(tick))}{escape(unit)}</text>'
        )
    return parts


def _y(value: float, y_min: float, y_max: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    span = (y_max - y_min) or 1
    return TOP + plot_h - (value - y_min) / span * plot_h


def _x(index: int, count: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    if count <= 1:
        return LEFT + plot_w / 2
    return LEFT + 10 + index * (plot_w - 20) / (count - 1)


def _x_labels(labels: Sequence[str], positions) -> list[str]:
    parts = []
    shown = _label_positions(len(labels))
    for index, label in enumerate(labels):
        if index not in shown:
            continue
        x = positions(index)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 22}" text-anchor="middle" font-size="14"'
            f' fill="{INK}">{escape(label)}</text>'
        )
    return parts


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    y_min: float = 0,
    y_max: float = 10,
    ticks: Sequence[float] = (0, 2, 4, 6, 8, 10),
    first_column: str = "Date",
    table_label: str = "Show the numbers",
) -> Chart:
    """Lines over shared x labels (dates, usually); a gap where a value is None."""
    count = len(x_labels)
    parts = [_open_svg(chart_id, title, desc), *_y_axis(y_min, y_max, ticks, "")]
    parts.append(
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}"'
        f' stroke="{INK}" stroke-width="1.5"/>'
    )
    legend = []
    for number, line in enumerate(series):
        style = STYLES[number % len(STYLES)]
        legend.append((line.label, style))
        runs: list[list[str]] = [[]]
        markers = []
        for index, value in enumerate(line.values):
            if value is None:
                runs.append([])
                continue
            x, y = _x(index, count), _y(value, y_min, y_max)
            runs[-1].append(f"{x:.1f},{y:.1f}")
            markers.append(_marker(x, y, style))
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{style["colour"]}"'
                    f' stroke-width="3" stroke-linejoin="round"'
                    f' stroke-dasharray="{style["dash"]}"/>'
                )
        parts.extend(markers)
    parts.extend(_x_labels(x_labels, lambda i: _x(i, count)))
    parts.append("</svg>")
    rows = [[label, *(_fmt(line.values[i]) for line in series)] for i, label in enumerate(x_labels)]
    return Chart(
        chart_id=chart_id,
        title=title,
        svg=Markup("".join(parts)),
        columns=[first_column, *(line.label for line in series)],
        rows=rows,
        table_label=table_label,
        legend=legend,
    )


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    y_max: float,
    value_label: str,
    first_column: str = "Date",
    target: float | None = None,
    target_label: str = "Target",
    table_label: str = "Show the numbers",
) -> Chart:
    """One bar per label, an optional dashed target line, the value written above each bar."""
    count = len(labels)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(count, 1)
    bar_w = min(36.0, slot * 0.7)
    ticks = _nice_ticks(y_max)
    y_top = ticks[-1]
    parts = [_open_svg(chart_id, title, desc), *_y_axis(0, y_top, ticks, "")]
    style = STYLES[1]
    for index, value in enumerate(values):
        cx = LEFT + slot * (index + 0.5)
        if value is None:
            continue
        y = _y(value, 0, y_top)
        parts.append(
            f'<rect x="{cx - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}"'
            f' height="{HEIGHT - BOTTOM - y:.1f}" fill="{style["colour"]}"/>'
        )
        if count <= 12:
            parts.append(
                f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="14"'
                f' fill="{INK}">{escape(_fmt(value))}</text>'
            )
    legend = [(value_label, {**style, "dash": ""})]
    if target is not None:
        y = _y(target, 0, y_top)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{INK}"'
            ' stroke-width="2" stroke-dasharray="6 4"/>'
        )
        legend.append((target_label, {"colour": INK, "dash": "6 4", "marker": "none"}))
    parts.append(
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}"'
        f' stroke="{INK}" stroke-width="1.5"/>'
    )
    parts.extend(_x_labels(labels, lambda i: LEFT + slot * (i + 0.5)))
    parts.append("</svg>")
    columns = [first_column, value_label] + ([target_label] if target is not None else [])
    rows = [
        [label, _fmt(values[i])] + ([_fmt(target)] if target is not None else [])
        for i, label in enumerate(labels)
    ]
    return Chart(chart_id, title, Markup("".join(parts)), columns, rows, table_label, legend)


def _nice_ticks(top: float) -> list[float]:
    top = max(top, 1)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500):
        if top / step <= 5:
            return [float(step * i) for i in range(int(-(-top // step)) + 1)]
    step = top / 5
    return [step * i for i in range(6)]


def sparkline(values: Sequence[float], label: str, y_max: float = 1.0) -> Markup:
    """A small trend line for a table cell; `label` says the numbers in words (aria-label)."""
    width, height, pad = 96, 28, 3
    if not values:
        return Markup(f'<span class="visually-hidden">{escape(label)}</span>')
    count = len(values)
    points = []
    for index, value in enumerate(values):
        x = pad + (index * (width - 2 * pad) / (count - 1) if count > 1 else (width - 2 * pad) / 2)
        y = height - pad - min(max(value, 0), y_max) / (y_max or 1) * (height - 2 * pad)
        points.append(f"{x:.1f},{y:.1f}")
    last_x, last_y = points[-1].split(",")
    return Markup(
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(label)}"><polyline points="{" ".join(points)}"'
        f' fill="none" stroke="{INK}" stroke-width="2"/>'
        f'<circle cx="{last_x}" cy="{last_y}" r="3" fill="{INK}"/></svg>'
    )
