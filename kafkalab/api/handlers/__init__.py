"""The request handlers, one module per family of APIs; importing this package registers them
all (see :mod:`..registry`)."""
from . import metadata  # noqa: F401
