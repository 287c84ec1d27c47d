import matplotlib.image as mpimg
import pytest

from kerasnas.drawing import _CHAR, _arc_heights, _wrap, draw_cell
from kerasnas.spaces.custom import CustomCellSpace
from kerasnas.spaces.nasbench201 import NasBench201Space, from_arch_string

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_draws_a_nasbench201_cell_to_a_png(tmp_path):
    path = tmp_path / "cell.png"
    draw_cell(NasBench201Space().cell_graph(from_arch_string(ARCH)), str(path), title=ARCH)
    image = mpimg.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 600
    assert image.std() > 0.05  # not a blank canvas


def test_draws_a_custom_cell_without_explicit_inputs(tmp_path):
    values = {f"node{k}_{p}{a}": (k - 1 if p == "in" else "identity")
              for k in (2, 3, 4) for a in (0, 1) for p in ("in", "op")}
    graph = CustomCellSpace().cell_graph(values)
    del graph["inputs"], graph["outputs"]
    path = tmp_path / "custom.png"
    draw_cell(graph, str(path))
    assert path.stat().st_size > 5000


def test_labels_of_the_full_four_node_dag_do_not_overlap():
    nodes = ["in", "a", "b", "out"]
    edges = [(s, d, "nor_conv_3x3") for i, s in enumerate(nodes) for d in nodes[i + 1:]]
    index = {n: i for i, n in enumerate(nodes)}
    spacing = 3.0
    heights = _arc_heights(edges, index, spacing)
    hops = [index[d] - index[s] for s, d, _ in edges]
    assert [h for h, n in zip(heights, hops) if n == 1] == [0.0] * 3  # neighbours: straight
    assert all(h != 0.0 for h, n in zip(heights, hops) if n > 1)
    width = len("nor_conv_3x3") * _CHAR + 0.3  # a label box, as _arc_heights sizes it
    mids = [(index[s] + index[d]) / 2 * spacing for s, d, _ in edges]
    for a in range(len(edges)):
        for b in range(a):
            if heights[a] == heights[b]:
                assert abs(mids[a] - mids[b]) >= width


def test_unknown_node_in_an_edge_raises(tmp_path):
    with pytest.raises(ValueError, match="'x'"):
        draw_cell({"nodes": ["in", "out"], "edges": [("in", "x", "op")]}, str(tmp_path / "a.png"))


def test_title_wraps_at_plus_signs():
    assert _wrap(ARCH, 50).split("\n")[0] == "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+"
