"""`statsgraph.server.asgi:app`, for uvicorn workers and other ASGI servers."""

from .app import create_app
from .logs import configure_logging
from .settings import get_settings

configure_logging(get_settings().log_format, get_settings().log_level)
app = create_app(get_settings())
