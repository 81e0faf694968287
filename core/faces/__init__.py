"""Face detection, alignment, embedding and the face index."""
