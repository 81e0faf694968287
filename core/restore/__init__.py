"""Restoring old photos: find the tiny faces, know who they are, restore them as those people.

Modules, in the order a photo meets them: recognition (detect and embed with the
library's face backend), matching (faces to persons, with a calibrated confidence),
library_faces (a person's aligned crops cut from the original photos), reference (the
reference photo for one face), compose (align, tone-match, paste back, upscale),
encoding (the new image, like its source), notes (the JSON note, a typed model, and
the XMP packet), outputs (new files beside their notes, never over anything), report
(what happened, as plain data), options (the user's knobs). The jobs that run them (a
restore run and its session, recompose, fitting on demand) live in core.tasks.

Nothing here imports a job: core.tasks is the layer above (pyproject's import-linter
contract).
"""
