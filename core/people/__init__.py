"""People: faces grouped into persons, and the user's full control of who is who.

How persons relate to embedding models: a person is model-independent (a name, a hidden
flag, a cover face). Each face has at most one person (`face_persons`), with a source:
`auto` rows come from one model's clustering (the row records which model), and are
redone by every re-cluster of that model; `confirmed` and `moved` rows are the user's and
no clustering ever touches them. "Not this person" (`face_rejections`) is per face and
person, so it too holds whatever model clusters next. Switching recognizer therefore
re-clusters faces into the same persons: user faces anchor them, and the faces' previous
persons vote for the new clusters (core.people.reconcile).

Modules: params (thresholds per model), knn (neighbour graphs), cluster (the graph
clustering), reconcile (clusters to persons), vectors (cached embedding matrix), state
(bulk reads and guarded writes), recluster and assign (the jobs), edits and history (the
user's decisions and undo), service (queries), suggest (suggestions), carry (decisions of
faces a re-analysis no longer finds).
"""
