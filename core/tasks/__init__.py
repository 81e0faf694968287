"""The jobs a person starts, as the CLI and the desktop app run them: indexing (photos,
faces, people), fitting a person's identity, restoring photos (restore: the run;
restore_session: what its photos share; recompose: another candidate chosen), and the demo
that runs them all on the bundled library. Each is a plain function taking progress and a
cancel token; everything below (core.restore, core.people, core.idfsr, core.faces, ...)
is theirs to combine, and none of it imports a job.
"""
