"""IDFSR Desktop: the Qt application over `core`."""
