"""timeline.svg: one panel per drill, one row per node, events on a time axis.

Written by hand (a few rectangles, lines and text elements) rather than with a
plotting library: the lab must not pull matplotlib onto a cluster test machine.
"""

from xml.sax.saxutils import escape

WIDTH = 1200
LEFT = 90
RIGHT = 150
ROW = 58
PANEL_TOP = 84
COLOURS = {
    "fault": "#d62728", "fence": "#9467bd", "BMC": "#8c564b", "stop": "#7f7f7f",
    "start": "#2ca02c", "VIP up": "#1f77b4", "VIP down": "#17becf",
    "first good response": "#ff7f0e", "rejoin": "#bcbd22", "repair": "#e377c2",
    "other": "#444444",
}
LEGEND = ("fault", "fence", "BMC", "stop", "start", "VIP up", "VIP down",
          "first good response", "repair", "rejoin", "other")
# Drawn last, so that they stay visible where dots pile up.
ON_TOP = ("fault", "first good response")


def _colour(kind):
    if kind.startswith("fence"):
        return COLOURS["fence"]
    if kind.startswith("BMC"):
        return COLOURS["BMC"]
    if kind in COLOURS:
        return COLOURS[kind]
    words = kind.split()
    if "stop" in words:
        return COLOURS["stop"]
    if "start" in words:
        return COLOURS["start"]
    if kind == "fault":
        return COLOURS["fault"]
    if "back" in kind:
        return COLOURS["repair"]
    return COLOURS["other"]


def render(drills, title="ocfkit lab"):
    """SVG text for ``drills`` (the dicts of report.json)."""
    panels = [d for d in drills if d.get("events")]
    parts = []
    y = 40
    for drill in panels:
        nodes = sorted({e["node"] for e in drill["events"]},
                       key=lambda n: (not n.startswith("n"), n))
        span = max([e["t"] for e in drill["events"]] + [1.0])
        span = max(span * 1.05, 1.0)
        height = PANEL_TOP + ROW * len(nodes) + 40
        scale = (WIDTH - LEFT - RIGHT) / span
        head = (f"{drill['agents']}: {drill['name']} - {drill['title']}  "
                f"(outage {_fmt(drill.get('outage_s'))} s, "
                f"{drill.get('failed_requests', 0)} failed requests, "
                f"dual VIP {'YES' if drill.get('dual_vip') else 'no'}, "
                f"{'ok' if drill.get('ok') else 'FAILED'})")
        parts.append(f'<g transform="translate(0,{y})">')
        parts.append(f'<text x="10" y="18" font-size="14" font-weight="bold">'
                     f'{escape(head)}</text>')
        rows = {name: PANEL_TOP + ROW * i for i, name in enumerate(nodes)}
        for name, row in rows.items():
            parts.append(f'<text x="10" y="{row + 4}" font-size="12">{escape(name)}</text>')
            parts.append(f'<line x1="{LEFT}" y1="{row}" x2="{WIDTH - RIGHT}" y2="{row}" '
                         'stroke="#ddd"/>')
        axis_y = PANEL_TOP + ROW * len(nodes)
        parts.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" '
                     'stroke="#888"/>')
        step = _tick_step(span)
        tick = 0.0
        while tick <= span:
            x = LEFT + tick * scale
            parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}" '
                         'stroke="#888"/>')
            parts.append(f'<text x="{x:.1f}" y="{axis_y + 16}" font-size="10" '
                         f'text-anchor="middle">{tick:g}s</text>')
            tick += step
        if drill.get("outage_s") is not None:
            begin = drill.get("outage_from_s") or 0.0
            x0 = LEFT + begin * scale
            x1 = x0 + drill["outage_s"] * scale
            parts.append(f'<rect x="{x0}" y="{PANEL_TOP - 14}" width="{max(x1 - x0, 1):.1f}" '
                         f'height="{ROW * len(nodes) + 4}" fill="#ffdddd" opacity="0.5">'
                         f'<title>outage {drill["outage_s"]} s</title></rect>')
        events = sorted(drill["events"], key=lambda e: e["kind"] in ON_TOP)
        for event in events:
            x = LEFT + max(event["t"], 0.0) * scale
            row = rows[event["node"]]
            colour = _colour(event["kind"])
            label = f"{event['t']:.2f}s {event['kind']}" + (
                f": {event['detail']}" if event.get("detail") else "")
            parts.append(f'<circle cx="{x:.1f}" cy="{row}" r="5" fill="{colour}">'
                         f'<title>{escape(event["node"])} {escape(label)}</title></circle>')
            # A slanted caption, so that events close in time stay readable.
            parts.append(f'<text x="{x + 2:.1f}" y="{row - 8}" font-size="9" fill="{colour}" '
                         f'transform="rotate(-35 {x + 2:.1f} {row - 8})">'
                         f'{escape(event["kind"])}</text>')
        parts.append("</g>")
        y += height
    legend_y = y + 10
    x = 10
    legend = []
    for kind in LEGEND:
        legend.append(f'<circle cx="{x + 5}" cy="{legend_y}" r="5" fill="{COLOURS[kind]}"/>'
                      f'<text x="{x + 14}" y="{legend_y + 4}" font-size="11">'
                      f'{escape(kind)}</text>')
        x += 14 + 7 * len(kind) + 18
    total = legend_y + 20
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{total}" '
            f'viewBox="0 0 {WIDTH} {total}" font-family="sans-serif">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            f'<text x="10" y="24" font-size="16" font-weight="bold">{escape(title)}</text>\n'
            + "\n".join(parts + legend) + "\n</svg>\n")


def _fmt(value):
    return "-" if value is None else f"{value:.2f}"


def _tick_step(span):
    for step in (0.5, 1, 2, 5, 10, 20, 30, 60, 120):
        if span / step <= 12:
            return step
    return 300
