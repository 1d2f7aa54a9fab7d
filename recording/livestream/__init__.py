"""The public livestream: one composite per hearing (`media/compositor.py` makes the pictures),
encoded once to H.264 and AAC, cut into HLS segments that wait in a delay line the presiding
judge can cut (`docs/livestream.md`)."""
