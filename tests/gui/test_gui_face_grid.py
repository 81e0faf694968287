"""The face grid spreads its columns evenly over the width and refits as it resizes."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from idfsr_desktop.face_grid_view import FaceGridView
from idfsr_desktop.face_list_model import FaceListModel, face_key
from idfsr_desktop.thumbnail_loader import ThumbnailLoader


def _view(qtbot: QtBot, *, strip: bool = False) -> FaceGridView:
    model = FaceListModel(ThumbnailLoader(lambda _: None, key=face_key))
    view = FaceGridView(model, 96, strip=strip)
    qtbot.addWidget(view)
    view.show()
    return view


def test_columns_fill_the_width_and_follow_a_resize(qtbot: QtBot) -> None:
    view = _view(qtbot)
    cell = view.face_delegate.cell_size(view.fontMetrics())
    for width in (430, 700):
        view.resize(width, 400)
        qtbot.waitUntil(lambda: view.gridSize().width() > 0)
        room = view.viewport().width()
        grid = view.gridSize()
        columns = room // grid.width()
        assert grid.width() > cell.width() and grid.height() > cell.height()
        assert columns >= 1 and room - columns * grid.width() < columns  # no gap on the right
    assert view.gridSize().width() * (view.viewport().width() // view.gridSize().width()) > 600


def test_a_strip_keeps_its_natural_cells(qtbot: QtBot) -> None:
    view = _view(qtbot, strip=True)
    cell = view.face_delegate.cell_size(view.fontMetrics())
    view.resize(500, 200)
    qtbot.waitUntil(lambda: view.gridSize().width() > 0)
    assert view.gridSize().height() == cell.height()
    assert cell.width() < view.gridSize().width() < 2 * cell.width()
