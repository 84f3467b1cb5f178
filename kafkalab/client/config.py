"""Client configs: kafka-python's own names and defaults, checked the same way.

Each client takes kafka-python's ``DEFAULT_CONFIG`` as the list of known keys and defaults, so a
config that works for kafka-python works here and a typo fails the same way — with a clearer
message listing what is allowed.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

from ..errors import KafkaConfigurationError


def merge_config(defaults: Mapping[str, Any], given: Mapping[str, Any], client: str
                 ) -> dict[str, Any]:
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise KafkaConfigurationError(
            f"Unrecognized configs for {client}: {', '.join(unknown)}. "
            f"Known: {', '.join(sorted(defaults))}")
    config = copy.copy(dict(defaults))
    config.update(given)
    return config


def normalize_acks(acks: Any) -> int:
    """'all' -> -1; 0, 1 and -1 as they are (kafka-python's rule)."""
    if acks == "all":
        return -1
    if acks in (0, 1, -1) and not isinstance(acks, bool):
        return int(acks)
    raise KafkaConfigurationError(f"acks must be 0, 1, 'all' or -1, not {acks!r}")
