"""The photo library: scanning folders, reading images, thumbnails."""
