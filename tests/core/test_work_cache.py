"""The restore work folder as a cache: its size, pruning by age at start, clearing, and the
outputs still shown being kept with their notes and crops."""

from __future__ import annotations

import os
import time
from pathlib import Path

from core.paths import AppPaths
from core.restore.options import RestoreOptions
from core.settings import RestoreSettings
from core.work_cache import DAY_S, prune, usage, work_folder


def _output(folder: Path, stem: str, age_days: float) -> list[Path]:
    """An output as a restore writes it: image, notes, a crops folder; all `age_days` old."""
    crops = folder / f"{stem}-crops"
    crops.mkdir(parents=True)
    files = [folder / f"{stem}.png", folder / f"{stem}.idfsr.json", folder / f"{stem}.xmp",
             crops / "face-01-result.png", crops / "face-01-candidate-1.png"]
    for f in files:
        f.write_bytes(b"x" * 100)
    when = time.time() - age_days * DAY_S
    for f in [*files, crops]:
        os.utime(f, (when, when))
    return files


def test_usage_prune_by_age_and_clear_keep_what_is_shown(tmp_path: Path) -> None:
    folder = work_folder(AppPaths.resolve(tmp_path))
    assert usage(folder).files == 0 and prune(folder, older_than_days=1).removed_files == 0
    old = _output(folder, "old-restored", 30)
    shown = _output(folder, "shown-restored", 30)
    new = _output(folder, "new-restored", 0.1)
    assert usage(folder).files == 15 and usage(folder).bytes == 1500

    done = prune(folder, older_than_days=14, keep=[shown[0]])
    assert (done.removed_files, done.removed_bytes) == (5, 500)
    assert not any(p.exists() for p in old) and all(p.exists() for p in shown + new)
    assert done.kept.files == 10

    cleared = prune(folder, older_than_days=None, keep=[new[0]])
    assert cleared.removed_files == 5 and all(p.exists() for p in new)
    assert not any(p.exists() for p in shown)
    assert sorted(p.name for p in folder.iterdir()) == [
        "new-restored-crops", "new-restored.idfsr.json", "new-restored.png",
        "new-restored.xmp"]


def test_restore_defaults_are_the_engines() -> None:
    d, o = RestoreSettings(), RestoreOptions()
    assert (d.steps, d.candidates, d.fidelity, d.identity_strength, d.scale) == (
        o.steps, o.candidates, o.fidelity, o.identity_strength, o.scale)
