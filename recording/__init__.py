"""Recording and livestream: sealed per-track recordings, HLS. Not yet built (issues 5 and 6)."""
