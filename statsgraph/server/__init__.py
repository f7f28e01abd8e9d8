"""HTTP: settings, authentication, the FastAPI app and the command line."""
