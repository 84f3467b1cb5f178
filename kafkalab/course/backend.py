"""What a lesson notebook runs on: the embedded engine, ``kafkalab serve``, or a real cluster.

A lesson's parameters cell holds ``BACKEND = None``, and its set-up cell calls
``use_backend(BACKEND, brokers=..., seed=SEED)``, which makes the lesson's cluster:

- ``"embedded"`` (the default): ``kafkalab.Cluster(...)`` in simulated time, as always.
- ``"serve"``: a wall-clock ``kafkalab.Cluster`` served on Kafka's wire protocol on the lesson's
  ports (``localhost:9092``, ``:9093`` ...; ``$KAFKALAB_SERVE_PORT`` moves the first one), and
  the real kafka-python as the lesson's client.
- ``"cluster"``: no engine at all; the real kafka-python against the Kafka cluster named by
  ``$KAFKALAB_BOOTSTRAP_SERVERS``.

Papermill sets ``BACKEND``; left ``None`` it comes from ``$KAFKALAB_BACKEND``, else ``"cluster"``
if ``$KAFKALAB_BOOTSTRAP_SERVERS`` is set, else ``"embedded"``.

Outside the embedded engine, the names ``KafkaProducer``, ``KafkaConsumer`` and
``KafkaAdminClient`` of ``kafkalab`` are swapped for kafka-python's
(:func:`swap_clients`), so the lesson's cells, whose only change is ``from kafkalab import``, run
with the real client; ``use_backend("embedded")`` or ``close()`` puts kafkalab's back. The
engine's own code never imports these names from ``kafkalab``, so it is unaffected.

Cells that need the engine start with ``%%needs_engine KIND ...`` (:data:`NEEDS`): the cell
runs where its backend can do it, and otherwise prints one plain line saying why it cannot.
"""
from __future__ import annotations

import ast
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

import kafka

BACKENDS = ("embedded", "serve", "cluster")
LESSON_PORT = 9092
LESSON_SERVERS = frozenset(f"{host}:{LESSON_PORT + i}" for host in ("localhost", "127.0.0.1")
                           for i in range(3))
"""The addresses the lessons' code names (their clusters have at most three brokers)."""
IDLE_STOP_MS = 5000
"""A lesson consumer on the real kafka-python stops iterating after this long without records
(its ``consumer_timeout_ms``), as the embedded engine's consumer stops when nothing is left."""
CLIENT_NAMES = ("KafkaProducer", "KafkaConsumer", "KafkaAdminClient")


@dataclass(frozen=True)
class Need:
    """What an engine-only cell uses: ``why`` completes "it ..." in the plain message, or is
    empty if every backend can do it; ``on_serve`` says whether a served (wall-clock) kafkalab
    cluster can; ``note``, if any, is printed before the cell runs on a backend other than the
    embedded engine."""

    why: str
    on_serve: bool
    note: str = ""


NEEDS: dict[str, Need] = {
    "state": Need("it reads the engine's own state (cluster.records, batches, describe_topic, "
                  "its views), which a real cluster does not show", on_serve=True),
    "events": Need("it reads the engine's explained event log (cluster.events), which a real "
                   "cluster does not keep", on_serve=True),
    "groups": Need("it asks the engine's group coordinator for its table "
                   "(cluster.describe_consumer_group); against a real cluster, run "
                   "kafka-consumer-groups --describe", on_serve=True),
    "readers": Need("its view draws where kafkalab's own consumers stand (known_positions), which "
                    "the real kafka-python's consumers do not tell", on_serve=False),
    "clock": Need("it reads the engine's clock (cluster.clock_text, t = ...)", on_serve=True),
    "timing": Need("", on_serve=True,
                   note="(Real time here: these are wall-clock milliseconds of the real "
                        "kafka-python, not the simulated ones the text describes.)"),
    "listener": Need("its rebalance listener calls consumer.commit(), a blocking call, which "
                     "kafka-python 3.0.12 refuses inside a rebalance callback (RuntimeError: "
                     "Cannot block on net.run() from the IO thread itself; it wants an "
                     "AsyncConsumerRebalanceListener), while kafkalab's client allows it",
                     on_serve=False),
    "time": Need("it moves simulated time (cluster.advance), which a cluster on real time "
                 "cannot do", on_serve=False),
    "faults": Need("it injects faults through kafkalab's in-process clients (cluster.faults), "
                   "which the real kafka-python does not use", on_serve=False),
    "past": Need("it reads what simulated time did in the cells before it (they moved "
                 "cluster.advance), which a cluster on real time has not lived through",
                 on_serve=False),
    "requests": Need("it records the requests of kafkalab's own clients (record_requests), "
                     "which the real kafka-python does not report", on_serve=False),
    "sandbox": Need("it runs on a kafkalab cluster of its own in this kernel (on ports of its "
                    "own, such as 02b's shop_cluster on localhost:19092), with kafkalab's clients "
                    "and simulated time, which the real kafka-python cannot reach",
                    on_serve=False),
    "brokers": Need("it crashes, stops or restarts the engine's brokers and controllers "
                    "(cluster.kill_broker, restart_broker, its widgets' buttons), which a client "
                    "of a real cluster cannot do", on_serve=False),
}


def chosen_backend(backend: str | None = None,
                   environ: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """``(backend, bootstrap_servers)``: ``backend`` if given, else ``$KAFKALAB_BACKEND``, else
    ``"cluster"`` if ``$KAFKALAB_BOOTSTRAP_SERVERS`` is set, else ``"embedded"``. The servers
    are ``$KAFKALAB_BOOTSTRAP_SERVERS`` for ``"cluster"`` (required there), else None."""
    environ = os.environ if environ is None else environ
    servers = environ.get("KAFKALAB_BOOTSTRAP_SERVERS", "").strip() or None
    name = backend or environ.get("KAFKALAB_BACKEND", "").strip() or (
        "cluster" if servers else "embedded")
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: BACKEND (or $KAFKALAB_BACKEND) is one of "
                         f"{', '.join(map(repr, BACKENDS))}")
    if name != "cluster":
        return name, None
    if servers is None:
        raise ValueError("BACKEND='cluster' runs the lesson against a Kafka cluster of yours: "
                         "name it in $KAFKALAB_BOOTSTRAP_SERVERS (e.g. host:9092,host2:9092), "
                         "or choose BACKEND='embedded' or 'serve'")
    return name, servers


def swap_clients(classes: Mapping[str, type] | None) -> None:
    """Make ``from kafkalab import KafkaProducer`` (and KafkaConsumer, KafkaAdminClient) give
    ``classes[name]``; ``None`` puts kafkalab's own back. Only these three attributes of the
    ``kafkalab`` package change: kafkalab's own code imports its clients from their modules
    (``kafkalab.client.*``, ``kafkalab.admin``), so the engine and its views never see the swap."""
    import kafkalab

    classes = classes or _embedded_clients()
    if set(classes) != set(CLIENT_NAMES):
        raise ValueError(f"swap_clients() takes a class for each of {', '.join(CLIENT_NAMES)}, "
                         f"not for {', '.join(sorted(classes))}")
    for name in CLIENT_NAMES:
        setattr(kafkalab, name, classes[name])


def _embedded_clients() -> dict[str, type]:
    from kafkalab.client.admin import KafkaAdminClient
    from kafkalab.client.consumer import KafkaConsumer
    from kafkalab.client.producer import KafkaProducer

    return {"KafkaProducer": KafkaProducer, "KafkaConsumer": KafkaConsumer,
            "KafkaAdminClient": KafkaAdminClient}


class RemoteCluster:
    """The lesson's ``cluster`` on ``BACKEND='cluster'``: a real Kafka cluster, seen only through
    kafka-python. It offers what any client can do — ``bootstrap_servers``, ``now_ms()`` (wall
    time), ``create_topic()`` through the admin API — and nothing of the engine."""

    def __init__(self, bootstrap_servers: str):
        self.bootstrap_servers = bootstrap_servers

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def create_topic(self, name: str, partitions: int | None = None,
                     replication_factor: int | None = None,
                     config: Mapping[str, Any] | None = None) -> None:
        """Create ``name`` with the admin API (-1: the cluster's defaults); an existing topic is
        left as it is, so a lesson can run twice against the same cluster."""
        from kafka.admin import NewTopic
        from kafka.errors import TopicAlreadyExistsError

        admin = kafka.KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            admin.create_topics([NewTopic(name, partitions or -1, replication_factor or -1,
                                          topic_configs={k: str(v) for k, v in
                                                         (config or {}).items()})])
        except TopicAlreadyExistsError:
            pass
        finally:
            admin.close()

    def __getattr__(self, name: str):
        raise AttributeError(f"cluster.{name} needs the embedded engine (BACKEND='embedded'): "
                             f"this lesson runs against a real cluster at "
                             f"{self.bootstrap_servers}, seen only through kafka-python")

    def __repr__(self) -> str:
        return f"<a Kafka cluster at {self.bootstrap_servers} (BACKEND='cluster': no engine)>"


class LessonBackend:
    """The backend a lesson notebook runs on: ``name``, ``cluster`` (a ``kafkalab.Cluster``, or a
    :class:`RemoteCluster`), ``bootstrap_servers``. Invariant: while it is open, the kafkalab
    client names are the real kafka-python's exactly when ``name != 'embedded'``; ``close()``
    stops what it started and puts kafkalab's clients back."""

    def __init__(self, name: str, cluster: Any, served: Any = None):
        self.name = name
        self.cluster = cluster
        self._served = served
        self.closed = False

    @property
    def bootstrap_servers(self) -> str:
        return self.cluster.bootstrap_servers

    def allows(self, *kinds: str) -> bool:
        """Whether a cell needing ``kinds`` (keys of :data:`NEEDS`) can run here. If it cannot,
        prints the one plain line saying why; if it can, prints the kinds' notes, if any."""
        needs = [_need(kind) for kind in kinds]
        if self.name == "embedded":
            return True
        for need in needs:
            if need.why and (self.name == "cluster" or not need.on_serve):
                print(f"This cell needs the embedded engine (BACKEND='embedded'): {need.why}.")
                return False
        for note in dict.fromkeys(need.note for need in needs if need.note):
            print(note)
        return True

    def client_configs(self, configs: dict[str, Any]) -> dict[str, Any]:
        """A real client's ``configs`` with the lesson's ``localhost:9092`` (or no servers at
        all, which kafka-python reads as ``localhost:9092``) pointed at this backend."""
        servers = configs.get("bootstrap_servers")
        named = [servers] if isinstance(servers, str) else list(servers or [])
        named = [a.strip() for s in named for a in s.split(",") if a.strip()]
        if not named or set(named) <= LESSON_SERVERS:
            configs = {**configs, "bootstrap_servers": self.bootstrap_servers.split(",")}
        return configs

    def close(self) -> None:
        """Stop the served cluster (or close the embedded one) and put kafkalab's clients back."""
        global _current
        if self.closed:
            return
        self.closed = True
        if self.name != "embedded":
            swap_clients(None)
        if self._served is not None:
            self._served.stop()
        if self.name != "cluster":
            self.cluster.close()
        if _current is self:
            _current = None

    def __repr__(self) -> str:
        return f"<kafkalab lesson backend {self.name!r} at {self.bootstrap_servers}>"

    def describe(self) -> str:
        """What the lesson runs on, off the embedded engine, in plain words (the set-up cell
        prints it there)."""
        where = ("kafkalab serve (a kafkalab cluster on real time behind Kafka's wire protocol) "
                 f"at {self.bootstrap_servers}" if self.name == "serve" else
                 f"the Kafka cluster at {self.bootstrap_servers}")
        return (f"Backend: {where}.\n"
                f"`from kafkalab import KafkaProducer, KafkaConsumer, KafkaAdminClient` now "
                f"gives the real kafka-python {kafka.__version__}'s classes, which reach it "
                f"where the lesson's code names localhost:{LESSON_PORT}. A consumer iterating "
                f"with `for message in consumer` stops after {IDLE_STOP_MS // 1000} s without "
                f"records (consumer_timeout_ms={IDLE_STOP_MS}), as the embedded engine's stops "
                f"when nothing is left. Cells marked %%needs_engine run only where they can.")


_current: LessonBackend | None = None


def current() -> LessonBackend | None:
    """The backend the last :func:`use_backend` made, while it is open."""
    return _current


def use_backend(backend: str | None = None, *, brokers: int = 1, seed: int = 0,
                config: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> LessonBackend:
    """Make the lesson's cluster on the chosen backend (:func:`chosen_backend`), closing the
    one a previous call made; prints what it runs on (unless it is the embedded engine) and
    registers the ``%%needs_engine`` cell magic when IPython runs it."""
    global _current
    name, servers = chosen_backend(backend, environ)
    environ = os.environ if environ is None else environ
    if _current is not None:
        _current.close()
    if name == "embedded":
        from kafkalab.cluster import Cluster

        made = LessonBackend(name, Cluster(brokers=brokers, seed=seed, config=config))
    elif name == "serve":
        made = LessonBackend(name, *_served(brokers, seed, config, environ))
    else:
        made = LessonBackend(name, RemoteCluster(servers))
    if name != "embedded":
        swap_clients(REAL_CLIENTS)
    _current = made
    _register_magic()
    if name != "embedded":
        print(made.describe())
    return made


def _served(brokers: int, seed: int, config, environ) -> tuple[Any, Any]:
    from kafkalab.cluster import Cluster
    from kafkalab.server import serve

    port_text = environ.get("KAFKALAB_SERVE_PORT", str(LESSON_PORT))
    if not port_text.isdigit() or not 0 < int(port_text) < 65536 - brokers:
        raise ValueError(f"$KAFKALAB_SERVE_PORT is the first port kafkalab serve listens on, a "
                         f"number from 1 to {65535 - brokers}, not {port_text!r}")
    port = int(port_text)
    cluster = Cluster(brokers=brokers, seed=seed, clock="wall", config=config, port=port)
    try:
        served = serve(cluster)
    except OSError as error:
        cluster.close()
        ports = f"{port}-{port + brokers - 1}" if brokers > 1 else str(port)
        raise RuntimeError(
            f"BACKEND='serve' listens on port(s) {ports}, but one is taken ({error}). Stop what "
            f"listens there (another kafkalab serve, or a Kafka broker: to use that one, set "
            f"BACKEND='cluster' and $KAFKALAB_BOOTSTRAP_SERVERS), or set $KAFKALAB_SERVE_PORT "
            f"to another first port") from None
    return cluster, served


def poll_concurrently(consumers: Mapping[str, Any], seconds: float) -> dict[str, int]:
    """Poll each consumer in a thread of its own for ``seconds`` of real time, as services do;
    returns how many records each one read. (kafka-python finishes a rebalance only while the
    member is inside ``poll()``: members polled in turn with short timeouts miss their group's
    answers and rejoin, over and over.) An error in a thread is raised here."""
    end = time.monotonic() + seconds
    read = {name: 0 for name in consumers}
    errors: list[Exception] = []

    def run(name: str, consumer: Any) -> None:
        try:
            while (left_s := end - time.monotonic()) > 0:
                batches = consumer.poll(timeout_ms=int(left_s * 1000))
                read[name] += sum(len(records) for records in batches.values())
        except Exception as error:  # raised again in the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=item, name=f"poll-{item[0]}", daemon=True)
               for item in consumers.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return read


def _need(kind: str) -> Need:
    if kind not in NEEDS:
        raise ValueError(f"unknown engine need {kind!r}: one of {', '.join(NEEDS)}")
    return NEEDS[kind]


def _lesson_configs(configs: dict[str, Any]) -> dict[str, Any]:
    return _current.client_configs(configs) if _current is not None else configs


class KafkaProducer(kafka.KafkaProducer):
    """kafka-python's KafkaProducer, pointed at the lesson's backend when its code names
    ``localhost:9092`` (:meth:`LessonBackend.client_configs`); otherwise unchanged."""

    def __init__(self, **configs):
        super().__init__(**_lesson_configs(configs))


class KafkaConsumer(kafka.KafkaConsumer):
    """kafka-python's KafkaConsumer, pointed at the lesson's backend as :class:`KafkaProducer`
    is, with ``consumer_timeout_ms`` = :data:`IDLE_STOP_MS` unless given (kafka-python's default
    iterates forever)."""

    def __init__(self, *topics, **configs):
        configs.setdefault("consumer_timeout_ms", IDLE_STOP_MS)
        super().__init__(*topics, **_lesson_configs(configs))


class KafkaAdminClient(kafka.KafkaAdminClient):
    """kafka-python's KafkaAdminClient, pointed at the lesson's backend as
    :class:`KafkaProducer` is."""

    def __init__(self, **configs):
        super().__init__(**_lesson_configs(configs))


REAL_CLIENTS = {"KafkaProducer": KafkaProducer, "KafkaConsumer": KafkaConsumer,
                "KafkaAdminClient": KafkaAdminClient}


def needs_engine(line: str, cell: str) -> Any:
    """The ``%%needs_engine KIND ...`` cell magic: runs the cell (its last expression is the
    cell's result) if the current backend allows every KIND, else prints why not."""
    from IPython import get_ipython

    kinds = line.split()
    if not kinds:
        raise ValueError(f"%%needs_engine names what the cell needs: one or more of "
                         f"{', '.join(NEEDS)}")
    for kind in kinds:
        _need(kind)
    if _current is not None and not _current.allows(*kinds):
        return None
    shell = get_ipython()
    tree = ast.parse(shell.transform_cell(cell))
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    namespace = shell.user_ns
    exec(compile(tree, "<needs_engine cell>", "exec"), namespace)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), "<needs_engine cell>", "eval"), namespace)


def _register_magic() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.register_magic_function(needs_engine, magic_kind="cell")
