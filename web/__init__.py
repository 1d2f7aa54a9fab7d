"""The process: settings, the app factory, the CLI, the REST API, pages and the static client."""
