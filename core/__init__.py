"""IDFSR Desktop engine: headless, never imports Qt."""
