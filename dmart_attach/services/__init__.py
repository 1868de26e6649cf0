"""What each operation means: create, update, delete, log in, read back."""
