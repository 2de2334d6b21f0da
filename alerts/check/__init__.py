"""The client check: member sign-in, and "has this number been reported?" (API and
pages)."""
