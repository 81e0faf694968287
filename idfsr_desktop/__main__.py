"""`python -m idfsr_desktop` starts the desktop app."""

from idfsr_desktop.app import main

if __name__ == "__main__":  # not again in a child process multiprocessing starts
    raise SystemExit(main())
