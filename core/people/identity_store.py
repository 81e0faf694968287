"""Where the people's fitted identities are: the one place that knows their files' layout.

    <identities>/<first 16 hex of the model's sha256>/person-<id>.safetensors
    <identities>/<first 16 hex ...>/person-<id>.partial.safetensors   a fit that stopped
    <identities>/<name>.safetensors                                   `idfsr fit` (by name)

Library fits (core.tasks.fitting) go one folder down, per base model, and name their
person by id: ids are never reused, so a file names its person safely, and the model hash
in the folder (and in the file) keeps identities of different models apart. `idfsr fit`
writes at the top, named after the person it was given. What is inside a file (the
embedding and its metadata) is core.idfsr.identity's business.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import select

from core.context import AppContext
from core.db.models import Person
from core.errors import ModelCorruptError
from core.models.safetensors_file import read_metadata

_FITTED = re.compile(r"^person-(\d+)\.safetensors$")


def person_file_name(person: str) -> str:
    """A safe file name for a person's identity file (`idfsr fit`, named by the person)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", person).strip("._") or "person"
    return f"{slug}.safetensors"


def identities_folder(ctx: AppContext, model_sha256: str) -> Path:
    """The folder of the identities fitted on one model."""
    return ctx.paths.identities / model_sha256[:16]


def identity_path(ctx: AppContext, person_id: int, model_sha256: str) -> Path:
    """Where a person's identity on this model is (or will be) saved."""
    return identities_folder(ctx, model_sha256) / f"person-{int(person_id)}.safetensors"


def partial_fit_path(identity: Path) -> Path:
    """Where a fit that stopped before its end keeps its state, beside the identity."""
    return identity.with_name(identity.stem + ".partial.safetensors")


def person_identity(ctx: AppContext, person_id: int, model_sha256: str) -> Path | None:
    """The person's fitted identity file for this model, or None when not fitted."""
    path = identity_path(ctx, person_id, model_sha256)
    return path if path.is_file() else None


def person_identity_files(ctx: AppContext, person_id: int) -> list[Path]:
    """Every file of a person's library fits, on every model: fitted, partial, temporary."""
    root = ctx.paths.identities
    if not root.is_dir():
        return []
    prefix = f"person-{int(person_id)}."
    return sorted(p for folder in root.iterdir() if folder.is_dir()
                  for p in folder.iterdir() if p.is_file() and p.name.startswith(prefix))


def fit_status(ctx: AppContext, model_sha256: str) -> dict[int, Path]:
    """Which persons (still in the library) have an identity fitted on this model."""
    folder = identities_folder(ctx, model_sha256)
    if not folder.is_dir():
        return {}
    found: dict[int, Path] = {}
    for path in folder.iterdir():
        m = _FITTED.match(path.name)
        if m and path.is_file():
            found[int(m.group(1))] = path
    if not found:
        return {}
    with ctx.db.session() as s:
        alive = set(s.scalars(select(Person.id).where(Person.id.in_(list(found)))))
    return {pid: p for pid, p in sorted(found.items()) if pid in alive}


def identity_files(folder: Path, person_id: int, name: str | None,
                   name_is_unique: bool) -> list[Path]:
    """Every identity file (and partial fit) of a person under `folder`, what forgetting
    deletes: those named after the person's id, or whose metadata names the id, or, when no
    one else has that name, the person's name."""
    if not folder.is_dir():
        return []
    labels = {str(person_id), f"#{person_id}"} | ({name} if name and name_is_unique else set())
    stems = {person_file_name(label).removesuffix(".safetensors") for label in labels}
    stems.add(f"person-{int(person_id)}")  # how library fits name them
    # `idfsr fit` writes at the top; library fits go one folder down, per base model.
    paths = [p for p in folder.iterdir() if p.is_file()] + [
        p for sub in folder.iterdir() if sub.is_dir() for p in sub.iterdir() if p.is_file()]
    found = []
    for path in sorted(paths):
        stem = path.name.split(".")[0]
        if stem in stems and path.name.endswith((".safetensors", ".tmp")):
            found.append(path)
            continue
        try:
            meta = {k: json.loads(v) for k, v in read_metadata(path, "identity file").items()}
        except (ModelCorruptError, ValueError):
            continue  # not an identity file we can read: not evidence of anyone
        named = meta.get("person")
        if meta.get("person_id") == person_id or (isinstance(named, str) and named in labels):
            found.append(path)
    return found
