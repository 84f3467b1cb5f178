"""Helpers and checks of notebook 02b-transactions (the transactional producer, exactly-once).

The helpers build the lesson's scenarios and tables: the shop's three topics on a cluster of
their own (:func:`shop_cluster`), what a ``read_committed`` and a ``read_uncommitted`` consumer
read (:func:`read_all`, :func:`readers_side_by_side`), each partition's last stable offset, high
watermark and markers (:func:`offsets_table`, :func:`partitions_picture`), and the exactly-once
pipeline with and without transactions over many seeds (:func:`exactly_once_table`).

Each check returns ``None`` when the answer is right and a hint when it is wrong, and never
prints (``checks.run`` prints the pass line). Expected answers are computed, not stored: what
the learner's cluster holds is read from its logs and by fresh consumers; 02b.4 runs the
learner's consume-transform-produce step on clusters of its own (``CHECK_PORT``, never the
learner's ``localhost:9092``) with a crash at the worst moment.
"""
from __future__ import annotations

import json
import numbers
from typing import Any, Callable, Sequence

from .checks import lesson_check

SHOP_TOPICS = ("orders", "inventory", "payments")
CHECK_PORT = 19_720  # the checks' own clusters live at localhost:19720.. (never the learner's)
MARKERS = ("COMMIT marker", "ABORT marker")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# --- scenarios and tables ------------------------------------------------------------------------
def shop_cluster(seed: int = 0, port: int | None = None, topics: Sequence[str] = SHOP_TOPICS):
    """A 3-broker cluster with the lesson's topics (1 partition each, replication factor 3)."""
    from kafkalab import Cluster

    cluster = Cluster(brokers=3, seed=seed, **({"port": port} if port else {}))
    for topic in topics:
        cluster.create_topic(topic, partitions=1, replication_factor=3)
    return cluster


def read_all(cluster, topics: Sequence[str], isolation_level: str = "read_uncommitted",
             decode: Callable[[bytes], Any] | None = None) -> list[tuple[str, int, Any]]:
    """What a fresh consumer with ``isolation_level`` reads from partition 0 of each topic, from
    the start: (topic, offset, value) in read order."""
    from kafkalab import TopicPartition
    from kafkalab.client.consumer import KafkaConsumer  # kafkalab's, whatever the backend

    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                             isolation_level=isolation_level, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=500)
    consumer.assign([TopicPartition(t, 0) for t in topics])
    out = [(r.topic, r.offset, decode(r.value) if decode else r.value) for r in consumer]
    consumer.close()
    return out


def _text(value) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def readers_side_by_side(cluster, topics: Sequence[str]):
    """One row per record a consumer may get (markers left out): what a read_committed and a
    read_uncommitted consumer read, side by side, with the record's transaction status."""
    import pandas as pd

    committed = {(t, o) for t, o, _ in read_all(cluster, topics, "read_committed")}
    uncommitted = {(t, o) for t, o, _ in read_all(cluster, topics, "read_uncommitted")}
    rows = []
    for topic in topics:
        frame = cluster.records(topic, 0)
        for r in frame.itertuples():
            if r.transaction in MARKERS:
                continue
            rows.append({"topic": topic, "offset": int(r.offset), "value": _text(r.value),
                         "transaction": r.transaction or "none",
                         "read_committed": "✔" if (topic, r.offset) in committed else "—",
                         "read_uncommitted": "✔" if (topic, r.offset) in uncommitted else "—"})
    return pd.DataFrame(rows, columns=["topic", "offset", "value", "transaction",
                                       "read_committed", "read_uncommitted"])


def offsets_table(cluster, topics: Sequence[str]):
    """Per partition: last stable offset, high watermark, log end offset, records, markers, and
    what a read_committed and a read_uncommitted consumer read from it (their counts)."""
    import pandas as pd

    committed = read_all(cluster, topics, "read_committed")
    uncommitted = read_all(cluster, topics, "read_uncommitted")
    rows = []
    for topic in topics:
        log = cluster.partition(topic, 0).leader_log
        kinds = cluster.records(topic, 0)["transaction"]
        rows.append({"partition": f"{topic}-0", "last_stable_offset": log.last_stable_offset,
                     "high_watermark": log.high_watermark,
                     "log_end_offset": log.log_end_offset,
                     "data_records": int((~kinds.isin(MARKERS)).sum()),
                     "markers": int(kinds.isin(MARKERS).sum()),
                     "read_committed_gets": sum(1 for t, _, _ in committed if t == topic),
                     "read_uncommitted_gets": sum(1 for t, _, _ in uncommitted if t == topic)})
    return pd.DataFrame(rows)


def partitions_picture(cluster, topics: Sequence[str], title: str = ""):
    """A static picture of partition 0 of each topic: records coloured by transaction status,
    markers, LSO, HW and LEO, and what each kind of consumer gets (HTML)."""
    import html as html_module

    from IPython.display import HTML

    from ..viz.transaction_blocks import partition_rows_html
    from ..viz.transaction_widget import partition_rows

    head = (f"<b>{html_module.escape(title)}</b> · <code>{cluster.clock_text()}</code>"
            if title else f"<code>{cluster.clock_text()}</code>")
    return HTML(f"<div class='kafkalab-txn-picture'>{head}"
                f"{partition_rows_html(partition_rows(cluster, topics))}</div>")


def transaction_events(cluster, since_ms: int, with_client: bool = False) -> list[str]:
    """The ``txn.*`` events (and crash faults) since ``since_ms``, timed, one line each; the
    producer's own state changes (``txn.client_state``) only ``with_client``."""
    lines = []
    for e in cluster.events.since(since_ms):
        if not (e.kind.startswith("txn.") or e.kind == "fault.producer_crashed"):
            continue
        if e.kind == "txn.client_state" and not with_client:
            continue
        lines.append(f"{cluster.clock_text(e.time_ms)}  {e.kind}: {e.text}")
    return lines


def exactly_once_table(seeds: Sequence[int]):
    """The consume-transform-produce pipeline of ``kafkalab.reliability`` under the same seeded
    crashes, without and with transactions: per seed, worker restarts, and inputs lost and
    duplicated in the committed output."""
    import pandas as pd

    from ..reliability import run_exactly_once_schedule

    rows = []
    for seed in seeds:
        plain = run_exactly_once_schedule(seed, transactional=False)
        txn = run_exactly_once_schedule(seed, transactional=True)
        rows.append({"seed": seed, "restarts (plain)": plain.restarts,
                     "duplicates without transactions": len(plain.duplicates),
                     "lost without": len(plain.lost),
                     "restarts (transactional)": txn.restarts,
                     "duplicates with transactions": len(txn.duplicates),
                     "lost with": len(txn.lost),
                     "read_uncommitted sees (with)": txn.uncommitted_output,
                     "records in output (with)": len(txn.output)})
    return pd.DataFrame(rows).set_index("seed")


# --- 02b.1: an atomic transfer -------------------------------------------------------------------
TRANSFER = {"debits": {"account": "alice", "amount": 100},
            "credits": {"account": "bob", "amount": 100}}


def _data(cluster, topic: str):
    frame = cluster.records(topic, 0)
    return frame[~frame["transaction"].isin(MARKERS)]


def _json(value):
    try:
        return json.loads(value) if isinstance(value, (str, bytes, bytearray)) else value
    except ValueError:
        return value


@lesson_check("02b.1")
def atomic_transfer(cluster) -> str | None:
    cluster.advance(ms=100)  # let the coordinator's markers land
    for topic, expected in TRANSFER.items():
        data = _data(cluster, topic)
        if data.empty:
            return f"nothing was written to {topic}: send {expected} there"
        kinds = set(data["transaction"])
        if "" in kinds:
            return (f"the record in {topic} was written outside a transaction: create the "
                    f"producer with transactional_id=..., call init_transactions() once, then "
                    f"begin_transaction() before sending")
        if "open" in kinds:
            return (f"the transaction is still open (the coordinator says "
                    f"{_states(cluster)}): nobody with read_committed sees {topic}'s record "
                    f"until you call producer.commit_transaction()")
        if "aborted" in kinds and "committed" not in kinds:
            return f"the transaction that wrote {topic} was aborted: commit it"
        committed = data[data["transaction"] == "committed"]
        values = [_json(v) for v in committed["value"]]
        if not values or any(v != expected for v in values):  # a re-run cell commits again
            return (f"{topic} should hold the committed record {expected}; it holds "
                    f"{values} (send dicts with value_serializer=lambda v: "
                    f"json.dumps(v).encode())")
    seen = read_all(cluster, list(TRANSFER), "read_committed", decode=_json)
    if sorted(t for t, _, _ in seen) != sorted(TRANSFER):
        return f"a read_committed consumer reads {seen}, not one record from each topic"
    return None


def _states(cluster) -> str:
    frame = cluster.describe_transactions()
    return ", ".join(f"{r.transactional_id}: {r.state}" for r in frame.itertuples()) or "nothing"


# --- 02b.2: a failing transaction aborts, and read_committed never sees it ----------------------
@lesson_check("02b.2")
def aborted_is_invisible(cluster, committed_values, topic: str = "payments") -> str | None:
    cluster.advance(ms=100)
    data = _data(cluster, topic)
    kinds = set(data["transaction"])
    if "open" in kinds:
        return (f"a transaction is still open ({_states(cluster)}): when charge() raises, call "
                f"producer.abort_transaction() in the except block")
    if "" in kinds:
        return "some payments were written outside a transaction: begin_transaction() first"
    if "aborted" not in kinds:
        return ("no payment was aborted, yet one batch had a declined card: its payments must "
                "be rolled back with producer.abort_transaction(), not committed")
    if not isinstance(committed_values, (list, tuple)):
        return f"committed_values should be a list of the values you read, not {committed_values!r}"
    expected = [v for _, _, v in read_all(cluster, [topic], "read_committed", decode=_json)]
    got = [_json(v) for v in committed_values]
    aborted = [_json(v) for v in data[data["transaction"] == "aborted"]["value"]]
    if any(v in aborted for v in got):
        return (f"committed_values holds {[v for v in got if v in aborted]}, payments of the "
                f"aborted transaction: read with isolation_level='read_committed' (the default, "
                f"read_uncommitted, reads aborted records too)")
    if got != expected:
        return (f"a read_committed consumer reads {expected} from {topic}, not {got}: read it "
                f"from the start (auto_offset_reset='earliest')")
    return None


# --- 02b.3: the last stable offset ---------------------------------------------------------------
@lesson_check("02b.3")
def last_stable_offset(cluster, lso, held_back, topic: str = "events") -> str | None:
    for name, value in (("lso", lso), ("held_back", held_back)):
        if not _is_int(value):
            return f"{name} should be a whole number, not {value!r}"
    log = cluster.partition(topic, 0).leader_log
    if int(lso) != log.last_stable_offset:
        if int(lso) == log.high_watermark:
            return (f"{lso} is the high watermark: a read_uncommitted consumer reads up to it, "
                    f"but a read_committed one stops at the first offset of the earliest "
                    f"transaction still open")
        return (f"the last stable offset is not {lso}: it is the first offset of the earliest "
                f"open transaction (the high watermark when none is open)")
    committed = read_all(cluster, [topic], "read_committed")
    uncommitted = read_all(cluster, [topic], "read_uncommitted")
    expected = len(uncommitted) - len(committed)
    if int(held_back) != expected:
        open_records = int((cluster.records(topic, 0)["transaction"] == "open").sum())
        if int(held_back) == open_records:
            return (f"{held_back} counts only the open transaction's records: the records "
                    f"written after it began wait too, even non-transactional ones — a "
                    f"read_committed consumer reads nothing at or past the LSO")
        return (f"a read_uncommitted consumer reads {len(uncommitted)} records and a "
                f"read_committed one fewer; {held_back} is not the difference (markers are "
                f"never read by either)")
    return None


# --- 02b.4: an exactly-once consume-transform-produce step ---------------------------------------
PIPELINE_IN, PIPELINE_OUT, PIPELINE_GROUP = "orders", "confirmations", "confirmer"
PIPELINE_RECORDS = 12


class Crash(BaseException):
    """The process dies here (a BaseException, so an ``except Exception`` cannot catch it)."""


def pipeline_clients(cluster, instance: int = 1):
    """The consumer and transactional producer of the confirmer service (exercise 02b.4): a
    read_committed consumer in group ``confirmer`` that commits nothing on its own, and a
    producer with transactional_id ``confirmer``."""
    from kafkalab.client.consumer import KafkaConsumer  # kafkalab's, whatever the backend
    from kafkalab.client.producer import KafkaProducer

    consumer = KafkaConsumer(PIPELINE_IN, bootstrap_servers=cluster.bootstrap_servers,
                             group_id=PIPELINE_GROUP, enable_auto_commit=False,
                             isolation_level="read_committed", auto_offset_reset="earliest",
                             max_poll_records=4, value_deserializer=bytes.decode,
                             client_id=f"confirmer-{instance}")
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             transactional_id="confirmer", value_serializer=str.encode,
                             client_id=f"confirmer-{instance}")
    producer.init_transactions()
    return consumer, producer


def pipeline_cluster(seed: int = 0, port: int | None = None):
    """A cluster with ``orders`` holding ``order-1`` .. ``order-12`` and an empty
    ``confirmations`` topic."""
    from kafkalab.client.producer import KafkaProducer  # kafkalab's, whatever the backend

    cluster = shop_cluster(seed, port, (PIPELINE_IN, PIPELINE_OUT))
    feeder = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for n in range(1, PIPELINE_RECORDS + 1):
        feeder.send(PIPELINE_IN, f"order-{n}".encode(), partition=0)
    feeder.flush()
    feeder.close()
    return cluster


def run_pipeline(process_batch, crash_after_commit: int | None = 2, seed: int = 0,
                 port: int = CHECK_PORT, max_steps: int = 40) -> dict:
    """Run ``process_batch(consumer, producer)`` until the input is done, the process crashing
    (``Crash``) once at the worst moment of its ``crash_after_commit``-th batch: right after
    ``producer.commit_transaction()`` returns, or right before ``consumer.commit()`` (the output
    is written, the offsets not yet), then restarting (new consumer, new producer instance). Returns what read_committed reads from the output,
    duplicates, losses and the error the step raised, if any."""
    from collections import Counter

    cluster = pipeline_cluster(seed, port)
    crashed = [False]
    error = None

    def crash_after(method):  # the producer's commit returned: the process dies before more
        calls = [0]

        def wrapper(*args, **kwargs):
            result = method(*args, **kwargs)
            calls[0] += 1
            if not crashed[0] and calls[0] == crash_after_commit:
                crashed[0] = True
                raise Crash()
            return result
        return wrapper

    def crash_before(method):  # the output is written; the process dies before this commit
        calls = [0]

        def wrapper(*args, **kwargs):
            calls[0] += 1
            if not crashed[0] and calls[0] == crash_after_commit:
                crashed[0] = True
                raise Crash()
            return method(*args, **kwargs)
        return wrapper

    instance = 1
    consumer, producer = pipeline_clients(cluster, instance)
    producer.commit_transaction = crash_after(producer.commit_transaction)
    consumer.commit = crash_before(consumer.commit)
    idle = 0
    try:
        for _ in range(max_steps):
            before = cluster.partition(PIPELINE_OUT, 0).leader_log.log_end_offset
            try:
                process_batch(consumer, producer)
            except Crash:
                cluster.faults.crash_producer(producer)
                consumer.close(autocommit=False)
                instance += 1
                consumer, producer = pipeline_clients(cluster, instance)
                idle = 0  # the new instance joins the group first
                continue
            cluster.advance(ms=100)
            idle = idle + 1 if cluster.partition(PIPELINE_OUT, 0).leader_log.log_end_offset \
                == before else 0
            if idle >= 6:
                break
    except Exception as failure:  # the learner's step failed: the check says how
        error = f"{type(failure).__name__}: {failure}"
    cluster.advance(ms=100)
    output = [v for _, _, v in read_all(cluster, [PIPELINE_OUT], "read_committed",
                                        decode=bytes.decode)]
    counts = Counter(output)
    expected = [f"confirmed-{n}" for n in range(1, PIPELINE_RECORDS + 1)]
    outcome = {"output": output, "duplicates": sorted(v for v, c in counts.items() if c > 1),
               "lost": [v for v in expected if v not in counts], "error": error,
               "crashed": crashed[0], "instances": instance,
               "committed_offset": _committed(cluster)}
    cluster.close()
    return outcome


def _committed(cluster):
    from kafkalab.client.admin import KafkaAdminClient  # kafkalab's, whatever the backend

    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    try:
        offsets = admin.list_consumer_group_offsets(PIPELINE_GROUP)
    except Exception:  # no group yet
        return None
    finally:
        admin.close()
    return {f"{tp.topic}-{tp.partition}": meta.offset for tp, meta in offsets.items()}


@lesson_check("02b.4")
def exactly_once_step(process_batch) -> str | None:
    if not callable(process_batch):
        return "process_batch should be a function of (consumer, producer)"
    clean = run_pipeline(process_batch, crash_after_commit=None, port=CHECK_PORT)
    if clean["error"]:
        return f"process_batch raised {clean['error']}"
    if clean["lost"] or clean["duplicates"] or len(clean["output"]) != PIPELINE_RECORDS:
        return (f"without any crash, confirmations should hold confirmed-1 .. "
                f"confirmed-{PIPELINE_RECORDS} once each; a read_committed consumer reads "
                f"{clean['output']}")
    crashed = run_pipeline(process_batch, crash_after_commit=2, port=CHECK_PORT + 1)
    if crashed["error"]:
        return f"after a crash and a restart, process_batch raised {crashed['error']}"
    if crashed["duplicates"]:
        return (f"the process crashed right after its second commit, restarted, and wrote "
                f"{crashed['duplicates']} twice: the consumed offsets must be committed in the "
                f"same transaction as the output (producer.send_offsets_to_transaction(offsets, "
                f"consumer.group_metadata()) before commit_transaction()), the offset being the "
                f"next one to read (last offset + 1)")
    if crashed["lost"]:
        return f"after a crash and a restart, {crashed['lost']} never reached confirmations"
    return None
