"""The crash-safety kill loop (bench/kill_loop.py): phases that run `idfsr` and get killed,
the checks made after every kill, and the library they work on.

Modules: library (generated photos and synthetic faces), checks (DB health, the user's
decisions, partial files), edit_worker (a process making people edits until killed),
phases (what each phase starts, how it is verified and resumed).
"""
