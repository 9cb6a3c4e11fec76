"""The lineage graph of a project's dataset versions, laid out for a small plotly drawing."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from mlcore.data.versions import VersionSummary


@dataclass(frozen=True)
class LineageNode:
    id: int
    label: str
    operation: str
    x: float
    y: float


@dataclass(frozen=True)
class LineageGraph:
    nodes: tuple[LineageNode, ...]
    edges: tuple[tuple[int, int], ...]  # (parent id, child id)


def build_lineage(versions: list[VersionSummary]) -> LineageGraph:
    """Lay versions out left to right by generation, one row per dataset.

    Examples
    --------
    >>> build_lineage([]).nodes
    ()
    """
    by_id = {v.id: v for v in versions}
    depth: dict[int, int] = {}

    def generation(v: VersionSummary) -> int:
        if v.id not in depth:
            seen: set[int] = set()
            d, cur = 0, v
            while cur.parent_id is not None and cur.parent_id in by_id and cur.parent_id not in seen:
                seen.add(cur.id)
                cur = by_id[cur.parent_id]
                d += 1
            depth[v.id] = d
        return depth[v.id]

    rows = {name: i for i, name in enumerate(sorted({v.dataset for v in versions}))}
    slots: dict[tuple[int, int], int] = {}
    nodes = []
    for v in sorted(versions, key=lambda v: v.id):
        x_gen, row = generation(v), rows[v.dataset]
        k = slots.get((x_gen, row), 0)
        slots[(x_gen, row)] = k + 1
        nodes.append(LineageNode(v.id, v.label, v.operation, float(x_gen + 0.25 * k), float(-row)))
    edges = tuple((v.parent_id, v.id) for v in versions if v.parent_id is not None and v.parent_id in by_id)
    return LineageGraph(tuple(nodes), edges)


def lineage_figure(graph: LineageGraph, *, operation_labels: dict[str, str] | None = None) -> go.Figure:
    """A plotly drawing of the graph: a marker per version, an arrow per derivation."""
    labels = operation_labels or {}
    pos = {n.id: (n.x, n.y) for n in graph.nodes}
    fig = go.Figure()
    for parent, child in graph.edges:
        (x0, y0), (x1, y1) = pos[parent], pos[child]
        fig.add_annotation(
            x=x1,
            y=y1,
            ax=x0,
            ay=y0,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowwidth=1.5,
            standoff=14,
            startstandoff=14,
        )
    fig.add_trace(
        go.Scatter(
            x=[n.x for n in graph.nodes],
            y=[n.y for n in graph.nodes],
            mode="markers+text",
            text=[n.label for n in graph.nodes],
            textposition="top center",
            hovertext=[labels.get(n.operation, n.operation) for n in graph.nodes],
            hoverinfo="text",
            marker={"size": 18, "color": "#4C78A8"},
        )
    )
    n_rows = len({n.y for n in graph.nodes}) or 1
    fig.update_layout(
        height=140 + 70 * n_rows,
        margin={"l": 20, "r": 20, "t": 30, "b": 20},
        xaxis={"visible": False},
        yaxis={"visible": False, "range": [min([n.y for n in graph.nodes], default=0) - 0.6, 0.6]},
        showlegend=False,
    )
    return fig
