"""Client configs: kafka-python's own names and defaults, checked the same way.

Each client takes kafka-python's ``DEFAULT_CONFIG`` as the list of known keys and defaults, so a
config that works for kafka-python works here and a typo fails the same way (the same error class,
the same first sentence) — then the message lists what is allowed.

Some configs are accepted (kafka-python knows them) but kafkalab does not act on them yet; the
ones that would change what a program observes are refused or warned about once per cluster by
:func:`check_not_yet_supported`, never silently ignored. The rest configure the network
(sockets, SSL, SASL, reconnects, metadata refresh), which an in-process client does not have.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Mapping

from ..errors import KafkaConfigurationError


def merge_config(defaults: Mapping[str, Any], given: Mapping[str, Any], client: str,
                 error: type[Exception] = KafkaConfigurationError,
                 with_values: bool = False) -> dict[str, Any]:
    """``defaults`` updated with ``given``; an unknown name raises ``error`` with
    kafka-python's message ("Unrecognized configs: ..." with the names as a set, or — as
    kafka-python's producer — a dict with their values), then the names that are known."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        shown = ", ".join(f"{name!r}: {given[name]!r}" if with_values else repr(name)
                          for name in unknown)
        raise error(f"Unrecognized configs: {{{shown}}}. {client} knows: "
                    f"{', '.join(sorted(defaults))}")
    config = copy.copy(dict(defaults))
    config.update(given)
    return config


#: client -> [(config, is it used in a way kafkalab does not support yet?, True: refuse /
#: False: warn once, what to say)]
_NOT_YET: dict[str, list[tuple[str, Callable[[Any], bool], bool, str]]] = {
    "KafkaProducer": [],
    "KafkaConsumer": [
        ("fetch_min_bytes", lambda v: v != 1, False,
         "has no effect yet: kafkalab's consumer asks for its fetches to be answered at once "
         "with what the leader has (max_wait_ms=0; its poll loop does the waiting), as with "
         "fetch_min_bytes=1"),
        ("fetch_max_wait_ms", lambda v: v != 500, False,
         "has no effect yet: kafkalab's consumer asks for its fetches to be answered at once "
         "(max_wait_ms=0), so there is no wait to bound; poll(timeout_ms) still waits"),
        ("client_rack", bool, False,
         "has no effect: kafkalab's brokers have no racks, so a consumer always fetches from "
         "the leader (no follower fetching, KIP-392)"),
    ],
}


def check_not_yet_supported(client: str, config: Mapping[str, Any],
                            warn_once: Callable[[str, str], None]) -> None:
    """Refuse (KafkaConfigurationError) or warn once about a config kafkalab accepts but does
    not act on yet, saying so and where it arrives."""
    for name, used, refuse, why in _NOT_YET[client]:
        value = config[name]
        if used(value):
            text = f"{client}: {name}={value!r} {why}"
            if refuse:
                raise KafkaConfigurationError(text)
            warn_once(f"{client}.{name}", text)


def normalize_acks(acks: Any) -> int:
    """'all' -> -1; 0, 1 and -1 as they are (kafka-python's rule)."""
    if acks == "all":
        return -1
    if acks in (0, 1, -1) and not isinstance(acks, bool):
        return int(acks)
    raise KafkaConfigurationError(f"acks must be 0, 1, 'all' or -1, not {acks!r}")
