"""Fixtures of the restoration tests: the demo library indexed once, a tiny seeded model,
and old photos made from real group photos shrunk until their faces are 12-20 px."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from idfsr_support import torch_threads
from PIL import Image
from restore_support import tiny_restoration_model

from core.context import AppContext
from core.tasks.demo import run_demo

GROUPS = Path(__file__).resolve().parents[2] / "fixtures" / "faces" / "groups"


@pytest.fixture(autouse=True, scope="session")
def _few_threads() -> Iterator[None]:
    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled demo library indexed, clustered and its people named."""
    home = tmp_path_factory.mktemp("demo-home")
    with AppContext.open(home) as ctx:
        run_demo(ctx, restore=False)
    return home


@pytest.fixture
def lib(demo_home: Path, tmp_path: Path) -> Iterator[AppContext]:
    """A private copy of the demo home, opened (each test may change it freely)."""
    home = tmp_path / "home"
    shutil.copytree(demo_home, home)
    ctx = AppContext.open(home)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny seeded restoration model (64 px, dlib embeddings) saved as a model folder."""
    return tiny_restoration_model(tmp_path_factory.mktemp("model") / "tiny")


def shrink(path: Path, factor: float) -> Image.Image:
    """A photo made `factor` times smaller (Lanczos), as an old print scanned small."""
    img = Image.open(path).convert("RGB")
    return img.resize((round(img.width / factor), round(img.height / factor)),
                      Image.Resampling.LANCZOS)


def old_group_photo() -> Image.Image:
    """Obama and Biden (two_people.jpg) beside six strangers (t1.jpg), faces 13-20 px."""
    left, right = shrink(GROUPS / "two_people.jpg", 10), shrink(GROUPS / "t1.jpg", 9)
    page = Image.new("RGB", (left.width + right.width + 24, max(left.height, right.height) + 16),
                     (90, 80, 70))
    page.paste(left, (8, 8))
    page.paste(right, (left.width + 16, 8))
    return page


@pytest.fixture(scope="session")
def old_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of old photos: the group (colour JPEG) and Obama and Biden in grey (PNG)."""
    folder = tmp_path_factory.mktemp("old")
    old_group_photo().save(folder / "group.jpg", quality=90)
    shrink(GROUPS / "two_people.jpg", 10).convert("L").save(folder / "grey.png")
    return folder
