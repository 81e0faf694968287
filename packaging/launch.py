"""The packaged app's entry point: the same `main` as the `idfsr-desktop` command."""

import multiprocessing
import sys

from idfsr_desktop.app import main

if __name__ == "__main__":
    # A frozen app starts any worker process (torch's "spawn" on Windows and macOS)
    # through its own executable; this hands such a start to multiprocessing.
    multiprocessing.freeze_support()
    sys.exit(main())
