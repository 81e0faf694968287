"""Tiny seeded components for the IDFSR tests (the diffusers `get_dummy_components` habit)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from idfsr_support import make_faces, tiny_model, torch_threads, write_dataset

from core.idfsr.checkpoint import LoadedModel


@pytest.fixture(autouse=True, scope="session")
def _few_threads() -> Iterator[None]:
    with torch_threads(1):
        yield


@pytest.fixture
def model() -> LoadedModel:
    """A tiny seeded network with its schedule, ready to sample or fit."""
    return tiny_model()


@pytest.fixture
def faces() -> tuple[np.ndarray, np.ndarray]:
    """Six synthetic S x S faces and their landmarks."""
    return make_faces(6, seed=0)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A prepared dataset of 8 synthetic faces: two labelled people and two unlabelled faces."""
    return write_dataset(tmp_path / "data")

