"""The request handlers, one module per family of APIs; importing this package registers them
all (see :mod:`..registry`)."""
from . import metadata  # noqa: F401
from . import produce, producer_ids  # noqa: F401
from . import cluster, configs, topics  # noqa: F401
from . import fetch, list_offsets  # noqa: F401
from . import records  # noqa: F401
from . import groups  # noqa: F401
from . import transactions  # noqa: F401
