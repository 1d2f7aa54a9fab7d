"""Recordings: every permitted track written as it was encoded, sealed, signed and verifiable
offline (`docs/recording-format.md`); the public livestream (`recording/livestream/`)."""
