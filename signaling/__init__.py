"""The socket.io edge, a hearing in session, the Python client, the stores."""
