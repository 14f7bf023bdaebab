"""Route handlers of the web app, one module per domain."""
