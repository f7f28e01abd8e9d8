"""`statsgraph.server.asgi:app`, for uvicorn workers and other ASGI servers."""

from .app import create_app
from .settings import get_settings

app = create_app(get_settings())
