"""`python -m core.idfsr ...` runs the `idfsr` CLI, e.g. under `accelerate launch -m core.idfsr`."""

from core.cli import entry

if __name__ == "__main__":
    entry()
