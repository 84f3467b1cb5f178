"""The transaction widget: a transactional producer driven step by step over several partitions,
with what a real cluster never shows — the markers, the last stable offset and the coordinator.

What it shows, for partition 0 of each topic (the lesson's ``orders``, ``inventory`` and
``payments``):

* **record cells** in offset order, coloured by what each record is to a transaction (the
  ``transaction`` column of ``cluster.records``): *committed*, *aborted* (struck through),
  *open* (not decided yet), the **COMMIT** / **ABORT markers** the coordinator writes (control
  records: they take an offset, no consumer gets them), *non-transactional*; the **last stable
  offset** (▲LSO), the high watermark (▲HW) and the log end offset; and how many records a
  ``read_committed`` and a ``read_uncommitted`` consumer get from the partition;
* the **transaction coordinator's entry** for the transactional id
  (``cluster.describe_transactions()``): producer id, **epoch**, state (Ongoing, PrepareCommit,
  CompleteCommit, PrepareAbort, CompleteAbort, Empty), the partitions in the transaction and how
  long it has been open;
* the producer instances: the current one's client state, and the **zombie** (an older instance
  fenced by a newer one) if there is one;
* **recent events**: ``txn.*`` (partitions added, prepare, complete, fenced, timed out) and the
  crash fault.

Controls: *begin*, *send* (one record to each topic, flushed), *commit*, *abort*, *crash
producer* (``cluster.faults.crash_producer``: no EndTxn ever comes), *new instance* (a new
``KafkaProducer`` with the same ``transactional_id`` calls ``init_transactions()``: the old one
becomes a zombie), *zombie commit* / *zombie send* (the old instance tries: the error it gets is
shown), and *+ transaction.timeout.ms* (simulated time past the timeout and the coordinator's
next check). An error from the client shows in the widget's message line, never as a traceback.

Public API (stable; notebooks use it)::

    w = TransactionWidget(cluster, topics=("orders", "inventory", "payments"),
                          transactional_id="shop", transaction_timeout_ms=60_000)
    w.begin(); w.send(); w.commit(); w.abort()      # the current producer
    w.crash(); w.new_instance()                      # a crash, a restart (fences the old one)
    w.zombie_commit(); w.zombie_send()               # the fenced instance tries
    w.advance_past_timeout(); w.run(ms=...)          # simulated time on
    w.rows()                                         # the partitions as drawn: [PartitionRow]
    w.seen("read_committed")                         # offsets per partition a consumer gets
    w.coordinator()                                  # the coordinator's entry (a dict) or None
    w.message                                        # the last action's outcome (text)
    w.snapshot(); w.close()

Without a frontend (papermill, GitHub) it renders as static HTML: the same picture, no buttons.
"""
from __future__ import annotations

import html
import json

import ipywidgets as widgets

from ..client.producer import KafkaProducer
from ..cluster.cluster import Cluster
from .html import recent_events_html
from .live import SteppedView
from .transaction_blocks import (MARKERS, PartitionRow, coordinator_html, partition_rows_html,
                                 visible)

TOPICS = ("orders", "inventory", "payments")
EVENT_KINDS = ("txn.", "fault.producer_crashed", "widget.")
#: the coordinator's check for timed-out transactions
#: (transaction.abort.timed.out.transaction.cleanup.interval.ms, Kafka's default)
CLEANUP_INTERVAL_MS = 10_000
#: simulated time after an action, so the coordinator's markers land and replicate
SETTLE_MS = 50


def _short(value) -> str:
    """A record's value as a cell shows it: the widget's ``{"n": 3}`` as ``#3``, else the text
    cut to 7 characters."""
    if value is None or value != value:  # None or NaN (a marker's value in the table)
        return ""
    text = str(value)
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and set(decoded) == {"n"}:
        return f"#{decoded['n']}"
    return text if len(text) <= 7 else text[:6] + "…"


def client_state(producer) -> str:
    """A transactional producer's client state (kafka-python's ``TransactionState`` name)."""
    state = getattr(getattr(producer, "_transactions", None), "state", None)
    return getattr(state, "name", str(state))


def partition_rows(cluster: Cluster, topics) -> list[PartitionRow]:
    """Partition 0 of each of ``topics`` as the widget draws it: records (offset, status, short
    text) from ``cluster.records``, and the leader log's LSO, HW and LEO."""
    out = []
    with cluster.lock:
        for topic in topics:
            log = cluster.partition(topic, 0).view_log
            frame = cluster.records(topic, 0)
            records = tuple(
                (int(r.offset), r.transaction,
                 r.transaction.split()[0] if r.transaction in MARKERS else _short(r.value))
                for r in frame.itertuples())
            out.append(PartitionRow(f"{topic}-0", records, log.last_stable_offset,
                                    log.high_watermark, log.log_end_offset))
    return out


class TransactionWidget(SteppedView):
    """A transactional producer over ``topics`` (partition 0 of each), driven by buttons.

    Invariants: the widget reads the engine through public calls (``cluster.records``,
    ``cluster.describe_transactions``, the partitions' leader logs) and acts only through the
    client (``KafkaProducer``) and the lab's fault (``cluster.faults.crash_producer``); the
    current producer and the zombie are never the same instance; a client error is caught and
    shown in :attr:`message`.
    """

    def __init__(self, cluster: Cluster, topics=TOPICS, *, transactional_id: str = "shop",
                 transaction_timeout_ms: int = 60_000, title: str | None = None,
                 animate: bool = False):
        self.cluster = cluster
        self.topics = tuple(topics)
        for topic in self.topics:
            cluster.partition(topic, 0)  # UnknownTopicOrPartitionError, with what exists
        self.transactional_id = transactional_id
        self.transaction_timeout_ms = int(transaction_timeout_ms)
        self.title = title or (f"transactional producer {transactional_id!r} over "
                               f"{', '.join(self.topics)}")
        self.step_ms = self.sample_ms = SETTLE_MS
        self.speed, self.interval_s, self.animate = 1.0, 0.1, animate
        self.history: list = []
        self.sent = 0  # records sent by the widget's producers
        self.instances = 0  # producer instances started
        self.crashed = False  # the current producer was crashed
        self.zombie: KafkaProducer | None = None
        self.message = ""
        self._watch_events(cluster.now_ms())
        self.producer = self._new_producer()
        self._build_controls()
        self.refresh()

    # --- producers -----------------------------------------------------------------------------
    def _new_producer(self) -> KafkaProducer:
        self.instances += 1
        producer = KafkaProducer(bootstrap_servers=self.cluster.bootstrap_servers,
                                 transactional_id=self.transactional_id,
                                 transaction_timeout_ms=self.transaction_timeout_ms,
                                 value_serializer=lambda v: json.dumps(v).encode(),
                                 client_id=f"{self.transactional_id}-instance-{self.instances}")
        producer.init_transactions()
        return producer

    # --- controls ------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.out = widgets.Output()
        capture = self.out.capture(clear_output=True)
        auto = widgets.Layout(width="auto")
        specs = [
            ("begin", "play", "", self.begin, "begin_transaction()"),
            ("send", "paper-plane", "", self.send,
             f"send one record to each of {', '.join(self.topics)} (and flush)"),
            ("commit", "check", "success", self.commit, "commit_transaction()"),
            ("abort", "times", "warning", self.abort, "abort_transaction()"),
            ("crash producer", "bolt", "danger", self.crash,
             "cluster.faults.crash_producer(producer): it sends nothing more, no EndTxn"),
            ("new instance", "refresh", "info", self.new_instance,
             "a new KafkaProducer with the same transactional_id calls init_transactions(): "
             "the old instance is fenced (a zombie)"),
            ("zombie commit", "user-secret", "", self.zombie_commit,
             "the old, fenced instance calls commit_transaction()"),
            ("zombie send", "user-secret", "", self.zombie_send,
             "the old, fenced instance calls send()"),
            ("+ transaction.timeout.ms", "forward", "", self.advance_past_timeout,
             "move simulated time past transaction.timeout.ms and the coordinator's next check"),
        ]
        self.buttons: dict[str, widgets.Button] = {}
        for label, icon, style, action, tip in specs:
            button = widgets.Button(description=label, icon=icon, button_style=style,
                                    layout=auto, tooltip=tip)
            button.on_click(capture(lambda _, action=action: action()))
            self.buttons[label] = button
        self.header_view = widgets.HTML()
        self.message_view = widgets.HTML()
        self.partitions_view = widgets.HTML()
        self.coordinator_view = widgets.HTML()
        self.events_view = widgets.HTML()
        labels = list(self.buttons)
        self.box = widgets.VBox([
            widgets.HTML(f"<b>{html.escape(self.title)}</b>"),
            widgets.HBox([self.buttons[n] for n in labels[:4]]),
            widgets.HBox([self.buttons[n] for n in labels[4:]]),
            self.header_view, self.message_view, self.out, self.partitions_view,
            self.coordinator_view, self.events_view])

    # --- actions -------------------------------------------------------------------------------
    def _act(self, what: str, action, ok: str) -> bool:
        """Run ``action()``; say ``ok`` or the error it raised; let the markers land; redraw."""
        try:
            action()
        except Exception as error:  # a client error is the lesson: show it, never a traceback
            self._say(f"✖ {what}: {type(error).__name__}: {error}", ok=False)
            return False
        finally:
            self.cluster.advance(ms=SETTLE_MS)
            self._stepped_ms = self.cluster.now_ms()
        self._say(f"✔ {what}: {ok}", ok=True)
        return True

    def _current(self) -> KafkaProducer:
        if self.crashed:
            raise RuntimeError("this producer instance crashed: start a new instance")
        return self.producer

    def begin(self) -> bool:
        """``begin_transaction()`` on the current producer."""
        return self._act("begin_transaction()", lambda: self._current().begin_transaction(),
                         "a transaction is open in the client (the coordinator hears of it "
                         "with the first send)")

    def send(self) -> bool:
        """One record to partition 0 of each topic, then ``flush()``: they reach the logs."""
        def action():
            producer = self._current()
            for topic in self.topics:
                self.sent += 1
                producer.send(topic, {"n": self.sent}, partition=0)
            producer.flush()
        return self._act(f"send() to {', '.join(self.topics)}", action,
                         "written to the logs as open records; the LSO stays where the "
                         "transaction began")

    def commit(self) -> bool:
        return self._act("commit_transaction()", lambda: self._current().commit_transaction(),
                         "the coordinator wrote PrepareCommit, then a COMMIT marker to every "
                         "partition of the transaction")

    def abort(self) -> bool:
        return self._act("abort_transaction()", lambda: self._current().abort_transaction(),
                         "the coordinator wrote PrepareAbort, then an ABORT marker to every "
                         "partition: the records stay, read_committed skips them")

    def crash(self) -> bool:
        def action():
            self.cluster.faults.crash_producer(self._current())
            self.crashed = True
        return self._act("crash producer", action,
                         "it will send nothing more; an open transaction stays open until "
                         "transaction.timeout.ms or a new instance")

    def new_instance(self) -> bool:
        """A new producer instance with the same ``transactional_id``: ``init_transactions()``
        bumps the epoch, aborts what the old instance left open and fences it (the old one, if it
        did not crash, becomes the zombie)."""
        def action():
            old, was_crashed = self.producer, self.crashed
            self.producer = self._new_producer()
            self.crashed = False
            if not was_crashed:
                if self.zombie is not None:
                    self.zombie.close(timeout=0)
                self.zombie = old
        return self._act(f"new instance #{self.instances + 1}: init_transactions()", action,
                         "the coordinator bumped the epoch and aborted anything left open")

    def _zombie(self) -> KafkaProducer:
        if self.zombie is None:
            raise RuntimeError("no zombie yet: press 'new instance' while this one is alive")
        return self.zombie

    def zombie_commit(self) -> bool:
        return self._act("zombie commit_transaction()",
                         lambda: self._zombie().commit_transaction(), "committed")

    def zombie_send(self) -> bool:
        def action():
            zombie = self._zombie()
            self.sent += 1
            zombie.send(self.topics[0], {"n": self.sent}, partition=0).get(timeout=5)
        return self._act("zombie send()", action, "written")

    def advance_past_timeout(self) -> bool:
        """Simulated time past ``transaction.timeout.ms`` and the coordinator's next check."""
        ms = self.transaction_timeout_ms + CLEANUP_INTERVAL_MS
        return self._act(f"+{ms // 1000} s of simulated time", lambda: self.cluster.advance(ms=ms),
                         "past transaction.timeout.ms: the coordinator aborts a transaction "
                         "open that long")

    def close(self) -> None:
        self._unsubscribe()
        for producer in (self.producer, self.zombie):
            if producer is not None:
                producer.close(timeout=0)

    # SteppedView: time moves only by the widget's own steps
    def _advance(self, ms: int) -> None:
        self.cluster.advance(ms=ms)
        self._stepped_ms = self.cluster.now_ms()

    def _sample(self) -> None:
        pass

    # --- reading the engine --------------------------------------------------------------------
    def rows(self) -> list[PartitionRow]:
        """Partition 0 of each topic as drawn: its records (offset, status, short text) and its
        LSO, HW and LEO (the leader's log)."""
        return partition_rows(self.cluster, self.topics)

    def seen(self, isolation_level: str) -> dict[str, list[int]]:
        """The offsets of each partition a consumer with ``isolation_level`` gets, from the
        start."""
        return {row.name: visible(row, isolation_level) for row in self.rows()}

    def coordinator(self) -> dict | None:
        """The coordinator's entry for the transactional id (a ``describe_transactions`` row)."""
        frame = self.cluster.describe_transactions()
        frame = frame[frame["transactional_id"] == self.transactional_id]
        return None if frame.empty else frame.iloc[0].to_dict()

    # --- events --------------------------------------------------------------------------------
    def _on_event(self, event) -> None:
        if not event.kind.startswith(EVENT_KINDS):
            return
        if event.data.get("transactional_id", self.transactional_id) != self.transactional_id:
            return
        if event.kind == "txn.client_state":
            return  # the header shows the instances' states
        self._note(event.kind, event.text, event.time_ms)

    def _say(self, text: str, ok: bool) -> None:
        color = "#2e7d32" if ok else "#c33"
        self.message = text
        self.message_view.value = (f"<div class='kafkalab-txn-message' style='font-size:12px;"
                                   f"color:{color}'>{html.escape(text)}</div>")
        self.refresh()

    # --- drawing -------------------------------------------------------------------------------
    def _header_html(self) -> str:
        elapsed = self.cluster.now_ms() - self.cluster.start_ms
        current = "crashed" if self.crashed else client_state(self.producer)
        zombie = (f" · zombie (instance fenced): <b>{html.escape(client_state(self.zombie))}"
                  f"</b>" if self.zombie is not None else "")
        return (f"<div class='kafkalab-txn-header' data-elapsed-ms='{elapsed}' "
                f"data-client-state='{html.escape(current)}' style='font-size:12px'>"
                f"<code>{self.cluster.clock_text()}</code> simulated · producer instance "
                f"#{self.instances}: <b>{html.escape(current)}</b>{zombie} · "
                f"transaction.timeout.ms={self.transaction_timeout_ms}</div>")

    def _message_html(self) -> str:
        if not self.message:
            return ""
        color = "#c33" if self.message.startswith("✖") else "#2e7d32"
        return (f"<div class='kafkalab-txn-message' style='font-size:12px;color:{color}'>"
                f"{html.escape(self.message)}</div>")

    def _events_html(self, last: int = 8) -> str:
        return (f"<div class='kafkalab-txn-events'>"
                f"{recent_events_html(self.events, 'time', self.cluster.clock_text, last)}</div>")

    def refresh(self) -> None:
        with self.cluster.lock:
            self.header_view.value = self._header_html()
            self.partitions_view.value = partition_rows_html(self.rows())
            self.coordinator_view.value = coordinator_html(self.coordinator(),
                                                           self.transactional_id)
            self.events_view.value = self._events_html()

    def static_html(self) -> str:
        with self.cluster.lock:
            return (f"<div class='kafkalab-txn-widget'><b>{html.escape(self.title)}</b>"
                    f"{self._header_html()}{self._message_html()}"
                    f"{partition_rows_html(self.rows())}"
                    f"{coordinator_html(self.coordinator(), self.transactional_id)}"
                    f"{self._events_html()}</div>")
