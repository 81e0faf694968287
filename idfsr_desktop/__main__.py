"""`python -m idfsr_desktop` starts the desktop app."""

from idfsr_desktop.app import main

raise SystemExit(main())
