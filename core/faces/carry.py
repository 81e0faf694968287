"""What happens to the user's decisions when a re-analysed photo no longer yields a face.

The face pass matches new detections to old faces by overlap, and deletes old faces left
unmatched. For a face the user made decisions about (confirmed or placed it, rejected
it from someone, took it out of every person, chose it as a cover), deleting would lose
them, and a change of detector shifts boxes enough for that to happen to many faces.
So such a face hands its decisions to the new face that overlaps it most (a looser
overlap than the pass's own match: it is the same spot in the same photo); failing that,
if the photo's content is unchanged (only the recognizer changed) the face is kept, since
the user vouched for it; if the photo was edited and nothing is there any more, the face
and its decisions go with the pixels they described.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db.models import FacePerson, FaceRejection, FaceSource, Person

CARRY_IOU = 0.2  # same spot in the same photo, by a different detector's box

Box = tuple[float, float, float, float]


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def decided_faces(s: Session, face_ids: list[int]) -> set[int]:
    """Those of these faces that carry a decision of the user's."""
    if not face_ids:
        return set()
    user = select(FacePerson.face_id).where(FacePerson.face_id.in_(face_ids),
                                            FacePerson.source != FaceSource.AUTO.value)
    rejected = select(FaceRejection.face_id).where(FaceRejection.face_id.in_(face_ids))
    cover = select(Person.cover_face_id).where(Person.cover_face_id.in_(face_ids))
    return set(s.scalars(user.union(rejected, cover)))


def carry_decisions(
    s: Session, lost: Mapping[int, Box], new: Mapping[int, Box], *, content_changed: bool
) -> set[int]:
    """Move the decisions of lost faces onto overlapping new faces; return the lost faces
    to keep (unmatched, decided, in an unchanged photo). Call before deleting the rest."""
    decided = decided_faces(s, list(lost))
    keep: set[int] = set()
    free = dict(new)
    for old in sorted(decided):
        best = max(free, key=lambda f: _iou(free[f], lost[old]), default=None)
        if best is not None and _iou(free[best], lost[old]) >= CARRY_IOU:
            del free[best]
            _hand_over(s, old, best)
        elif not content_changed:
            keep.add(old)
    return keep


def _hand_over(s: Session, old: int, new: int) -> None:
    row = s.get(FacePerson, old)
    if row is not None and row.source != FaceSource.AUTO:
        s.merge(FacePerson(face_id=new, person_id=row.person_id, source=row.source,
                           model_id=None, score=None, assigned_at=row.assigned_at))
    for (person,) in s.execute(select(FaceRejection.person_id)
                               .where(FaceRejection.face_id == old)).all():
        if s.get(FaceRejection, (new, person)) is None:
            s.add(FaceRejection(face_id=new, person_id=person))
    s.execute(update(Person).where(Person.cover_face_id == old).values(cover_face_id=new))
    s.flush()
