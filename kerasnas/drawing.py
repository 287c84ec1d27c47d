"""Draws a cell's DAG (a space's `cell_graph(values)`) to a PNG with matplotlib.

Layout is deterministic, left to right in the order of `graph["nodes"]` (a
topological order): edges between neighbours are straight, longer edges are
arcs above or below, at heights chosen so that no two labels collide.
"""

import math
import re

# Colours of input, inner and output nodes.
_FILL = {"input": "#cde8c4", "inner": "#d6e4f5", "output": "#f9d9b0"}
_CHAR = 0.13  # width of a label character, in data units (font 14 at the scale below)
_LEVEL = 0.75  # height between two arc levels, in data units


def _arc_heights(edges, index, spacing):
    """Signed arc heights (data units) per edge, so that no two labels overlap.

    Edges between neighbours are straight (height 0) when that slot is free;
    the others take, shortest first, the lowest level (from span - 1) above
    or below whose label interval is still free (a greedy track assignment).
    """
    taken: dict[tuple[int, int], list[tuple[float, float]]] = {}  # (side, level) -> [(x0, x1), ...]
    heights = [0.0] * len(edges)
    order = sorted(range(len(edges)), key=lambda e: (abs(index[edges[e][1]] - index[edges[e][0]]),
                                                    index[edges[e][0]]))
    for e in order:
        src, dst, label = edges[e]
        mid = (index[src] + index[dst]) / 2 * spacing
        half = max(len(label), 2) * _CHAR / 2 + 0.15
        span = (mid - half, mid + half)
        hops = abs(index[dst] - index[src])
        slots = [(1, 0)] if hops == 1 else []
        # Longer edges start higher, so their arcs clear the nodes they pass; at
        # each level the side with fewer arcs so far comes first (balance).
        load = {side: sum(len(v) for (sd, lv), v in taken.items() if sd == side and lv)
                for side in (1, -1)}
        sides = sorted((1, -1), key=lambda side: load[side])
        slots += [(side, level) for level in range(max(1, hops - 1), 4 * len(edges) + hops)
                  for side in sides]
        for side, level in slots:
            used = taken.setdefault((side, level), [])
            if all(span[1] <= a or span[0] >= b for a, b in used):
                used.append(span)
                heights[e] = side * level * _LEVEL
                break
    return heights


def _wrap(title, width):
    """Wraps at spaces and `+` (arch strings have no spaces) to lines of <= width chars."""
    lines, line = [], ""
    for token in re.split(r"(?<=[ +])", title):
        if line and len(line) + len(token) > width:
            lines.append(line.rstrip())
            line = ""
        line += token
    return "\n".join(lines + [line.rstrip()])


def draw_cell(graph, path, title=None):
    """Writes the cell graph as a PNG.

    Args:
        graph: `{"nodes": [name, ...], "edges": [(src, dst, label), ...]}`,
            optionally with "inputs" and "outputs" (lists of names); otherwise
            nodes without incoming (outgoing) edges are the inputs (outputs).
        path: Where to write the PNG.
        title: Optional title above the drawing (wrapped at spaces and `+`).

    Returns:
        `path`.

    Raises:
        ValueError: if an edge names an unknown node.
    """
    # An Agg canvas of our own: no pyplot, so the caller's backend and figures are untouched.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    nodes = list(graph["nodes"])
    edges = [tuple(e) for e in graph["edges"]]
    index = {name: i for i, name in enumerate(nodes)}
    for src, dst, _ in edges:
        if src not in index or dst not in index:
            raise ValueError(f"Edge {src!r} -> {dst!r} names a node not in {nodes}.")
    inputs = set(graph.get("inputs", [n for n in nodes if all(e[1] != n for e in edges)]))
    outputs = set(graph.get("outputs", [n for n in nodes if all(e[0] != n for e in edges)]))

    spacing = 3.0
    pos = {name: (i * spacing, 0.0) for i, name in enumerate(nodes)}
    heights = _arc_heights(edges, index, spacing)
    top = max(heights + [0.0]) + 0.8
    bottom = min(heights + [0.0]) - 0.8
    # About 0.9 inch per data unit, which is what _CHAR assumes.
    width_in = 0.9 * (len(nodes) - 1 + 1.2) * spacing
    fig = Figure(figsize=(width_in, 0.9 * (top - bottom) + 0.8))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for (src, dst, label), off in zip(edges, heights):
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        length = math.hypot(x1 - x0, y1 - y0)
        # matplotlib's arc3: control point at the chord midpoint + rad * chord,
        # turned left; the curve's midpoint is half-way to it.
        rad = -2 * off / length if length else 0.0
        ax.add_patch(FancyArrowPatch(
            (x0, y0), (x1, y1), connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
            mutation_scale=22, lw=1.8, shrinkA=30, shrinkB=30, zorder=1,
            # Unlabelled edges (e.g. a concatenation into the output) dashed and lighter.
            color="#444444" if label else "#888888", linestyle="-" if label else "--"))
        if label:
            ax.text((x0 + x1) / 2, off, label, ha="center", va="center", fontsize=14,
                    zorder=3, bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="#999999"))
    for name, (x, y) in pos.items():
        kind = "input" if name in inputs else "output" if name in outputs else "inner"
        ax.text(x, y, name, ha="center", va="center", fontsize=15, zorder=4,
                fontweight="bold" if kind != "inner" else "normal",
                bbox=dict(boxstyle="round,pad=0.5", fc=_FILL[kind], ec="black", lw=1.5))
    ax.set_xlim(-spacing * 0.6, (len(nodes) - 1) * spacing + spacing * 0.6)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")  # arc3 bends in display space: keep it equal to data space
    ax.set_axis_off()
    if title:
        ax.set_title(_wrap(title, int(width_in * 100 / 13)), fontsize=15)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
