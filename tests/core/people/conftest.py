"""Fixtures of the people tests: a synthetic library of four people, clustered once."""

from __future__ import annotations

import numpy as np
import pytest
from people_support import SynthLibrary

from core.context import AppContext
from core.people.recluster import recluster


@pytest.fixture
def lib(app: AppContext) -> SynthLibrary:
    """alice 12, bob 10, carol 8, dave 6 faces, clustered."""
    library = SynthLibrary(app, np.random.default_rng(42))
    for name, n in (("alice", 12), ("bob", 10), ("carol", 8), ("dave", 6)):
        library.add(name, n)
    recluster(app)
    return library
