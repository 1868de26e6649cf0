"""The spaces tree on disk, and the state kept beside it."""
