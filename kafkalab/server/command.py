"""``kafkalab serve``: a cluster on Kafka's wire protocol until Ctrl-C or SIGTERM.

It prints what a learner needs to connect (every listener, the bootstrap string, an example
command) and how to stop; on SIGINT or SIGTERM it closes every port and exits 0. Bad arguments
exit 2 with ``kafkalab serve: error: <what was wrong and what is allowed>``.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from ..errors import KafkaError
from .serve import serve


def _pairs(values: list[str], separator: str, what: str, example: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, found, rest = value.partition(separator)
        if not found or not name:
            raise ValueError(f"{what} {value!r} is not {example}")
        pairs[name] = rest
    return pairs


def command(args: argparse.Namespace) -> int:
    try:
        if args.brokers < 1:
            raise ValueError(f"--brokers must be at least 1, not {args.brokers}")
        if not 0 < args.port <= 65535 - args.brokers + 1:
            raise ValueError(f"--port must leave room for {args.brokers} port(s) in 1..65535, "
                             f"not {args.port}")
        config = _pairs(args.config, "=", "--config", "NAME=VALUE")
        users = _pairs(args.sasl_user, ":", "--sasl-user", "USER:PASSWORD") or None
        served = serve(brokers=args.brokers, partitions=args.partitions, seed=args.seed,
                       port=args.port, config=config, sasl_users=users)
    except (ValueError, KafkaError, OSError) as error:
        print(f"kafkalab serve: error: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    cluster = served.cluster
    print(f"kafkalab serve: {len(cluster.brokers)} broker(s), real time, seed {args.seed}, "
          f"cluster id {cluster.cluster_id}")
    for broker, listener in zip(cluster.brokers.values(), served.listeners):
        print(f"  broker {broker.id}: {listener}")
    print(f"bootstrap servers: {served.bootstrap_servers}")
    print(f"  e.g. kafka-topics --bootstrap-server {served.bootstrap_servers.split(',')[0]} "
          "--list")
    print("Stop with Ctrl-C (or SIGTERM).", flush=True)
    stop.wait()
    served.stop()
    print("kafkalab serve: stopped", flush=True)
    return 0
