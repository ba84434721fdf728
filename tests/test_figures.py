"""contemo.figures: the one grid, PNG writer and matplotlib setup that every figure uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from contemo import figures
from contemo.errors import ContemoError


def _tiles(rows: int, cols: int, size: int = 8) -> list[list[np.ndarray]]:
    """Return rows x cols flat tiles, tile (r, c) filled with the grey value 10 * (r * cols + c)."""
    return [[np.full((size, size, 3), 10 * (r * cols + c), np.uint8) for c in range(cols)]
            for r in range(rows)]


def test_grid_places_every_tile_where_its_layout_says():
    tiles = _tiles(2, 3)
    labels = {"col_labels": ["a", "b\nc", "d"], "row_labels": ["one\ntwo", "three"],
              "captions": [["x", "y", "z"], ["p", "q\nr", "s"]]}
    figure = np.asarray(figures.grid(tiles, scale=4, **labels))
    layout = figures.grid_layout(2, 3, 32, **labels)
    assert figure.shape[:2] == (layout.size[1], layout.size[0])
    assert layout.left > 0 and layout.top > 0 and layout.caption > 0
    for r in range(2):
        for c in range(3):
            x0, y0, x1, y1 = layout.box(r, c)
            assert (figure[y0:y1, x0:x1] == 10 * (r * 3 + c)).all()


def test_tensor_grid_matches_to_uint8_and_refuses_ragged_rows():
    images = torch.linspace(-1, 1, 6 * 3 * 4 * 4).reshape(6, 3, 4, 4)
    figure = np.asarray(figures.tensor_grid(images, 2))
    pixels = figures.to_uint8(images)
    layout = figures.grid_layout(2, 3, 4)
    x0, y0, x1, y1 = layout.box(1, 2)
    assert np.array_equal(figure[y0:y1, x0:x1], pixels[5])
    with pytest.raises(ContemoError, match="do not fill 4 rows"):
        figures.tensor_grid(images, 4)


@pytest.mark.parametrize("durable", [True, False])
def test_save_png_round_trips_and_leaves_no_temp_file(tmp_path, durable):
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    path = figures.save_png(image, tmp_path / "a.png", durable=durable)
    assert np.array_equal(np.asarray(Image.open(path)), image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_save_plot_writes_a_png_without_pyplot(tmp_path):
    fig = figures.plot_figure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [1, 0])
    path = figures.save_plot(fig, tmp_path / "p.png", dpi=50)
    assert Image.open(path).size == (100, 50)
    assert figures.plot_bytes(fig, dpi=50)[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_grids_and_synth_sheets_are_contemo_figures(tmp_path):
    from contemo.data.synth.sheet import sheet
    from contemo.training.grids import save_grid

    images = torch.zeros(2 * 3, 3, 16, 16)
    path = save_grid(tmp_path / "g.png", images, 2, ["a", "b", "c"], ["s0", "s1"])
    layout = figures.grid_layout(2, 3, 32, ["a", "b", "c"], ["s0", "s1"])
    assert Image.open(path).size == layout.size  # 16 px tiles drawn 2x
    faces = [[Image.new("RGB", (32, 32), (200, 10, 10))] * 2]
    drawn = sheet(faces, captions=[["x", "y"]])
    assert drawn.size == figures.grid_layout(1, 2, 64, captions=[["x", "y"]]).size
