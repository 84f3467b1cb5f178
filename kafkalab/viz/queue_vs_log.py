"""A classic message queue next to a Kafka topic: the lesson's "Message Queue vs Event Streaming".

:class:`ClassicQueue` is a deliberately tiny, honest model of a RabbitMQ/SQS-style queue:

* ``send`` appends a message to the ready list;
* ``receive`` hands the oldest ready message to *one* consumer (competing consumers: nobody else
  gets it while it is unacknowledged);
* ``ack`` deletes it for good; ``nack`` puts it back at the head of the queue.

There is no offset and no way to read a message again after its ack. :class:`FanoutExchange`
is the queue world's publish/subscribe: one queue per subscriber, each publish copied into the
queues bound *at that moment* — a subscriber that binds later gets nothing from the past.

The model keeps a ``deleted`` list only so the view can show what is gone; a real broker keeps
no such record.

:class:`QueueVsLogWidget` sends each message to a queue and to a topic at once and draws both
side by side: the queue's ready / unacknowledged / deleted messages, and the topic's partition
log with each reader's position, under the topic's cluster clock (``t = 8 d 00:05:00``: simulated
time since that cluster started). A *Wait 1 day* button moves that clock, so retention can be
watched deleting old segments. Methods do what the buttons do, so code (and headless runs) can
drive it; without a frontend it renders as static HTML.
"""
from __future__ import annotations

import html
import itertools
from dataclasses import dataclass
from typing import Mapping

from ..client.consumer import KafkaConsumer
from ..client.producer import KafkaProducer
from ..cluster.cluster import Cluster
from ..timefmt import duration_text
from .live import StaticFallback


@dataclass(frozen=True)
class Delivery:
    """A message handed to one consumer, waiting for its ack."""

    message_id: int
    body: str
    consumer: str


class ClassicQueue:
    """A FIFO queue whose messages are deleted once acknowledged.

    Invariant: every message is in exactly one of ``ready``, ``unacked`` or ``deleted``.
    """

    def __init__(self, name: str = "queue"):
        self.name = name
        self._ids = itertools.count(1)
        self.ready: list[tuple[int, str]] = []
        self.unacked: dict[int, Delivery] = {}
        self.deleted: list[Delivery] = []  # for the picture only: a real broker forgets

    def send(self, body: str) -> int:
        """Enqueue ``body``; returns its message id."""
        message_id = next(self._ids)
        self.ready.append((message_id, body))
        return message_id

    def receive(self, consumer: str = "worker") -> Delivery | None:
        """Hand the oldest ready message to ``consumer`` (None if the queue is empty)."""
        if not self.ready:
            return None
        message_id, body = self.ready.pop(0)
        delivery = Delivery(message_id, body, consumer)
        self.unacked[message_id] = delivery
        return delivery

    def ack(self, delivery: Delivery) -> None:
        """The consumer is done: the message is deleted and can never be read again."""
        if self.unacked.pop(delivery.message_id, None) is None:
            raise ValueError(f"message {delivery.message_id} is not waiting for an ack "
                             f"(already acked, or never delivered)")
        self.deleted.append(delivery)

    def nack(self, delivery: Delivery) -> None:
        """The consumer gave up: the message goes back to the head of the queue."""
        if self.unacked.pop(delivery.message_id, None) is None:
            raise ValueError(f"message {delivery.message_id} is not waiting for an ack")
        self.ready.insert(0, (delivery.message_id, delivery.body))

    def messages(self) -> list[str]:
        """Bodies still in the queue (ready, oldest first)."""
        return [body for _, body in self.ready]

    def __len__(self) -> int:
        return len(self.ready) + len(self.unacked)

    def __repr__(self) -> str:
        return (f"ClassicQueue({self.name!r}, ready={self.messages()}, "
                f"unacked={[d.body for d in self.unacked.values()]}, deleted={len(self.deleted)})")

    def _repr_html_(self) -> str:
        return queue_html(self)


class FanoutExchange:
    """Publish/subscribe the queue way: each subscriber gets its own queue of new messages."""

    def __init__(self, name: str = "exchange"):
        self.name = name
        self.queues: dict[str, ClassicQueue] = {}

    def bind(self, subscriber: str) -> ClassicQueue:
        """Give ``subscriber`` a queue; it receives only messages published from now on."""
        return self.queues.setdefault(subscriber, ClassicQueue(subscriber))

    def publish(self, body: str) -> int:
        """Copy ``body`` into every bound queue; returns how many queues got it."""
        for queue in self.queues.values():
            queue.send(body)
        return len(self.queues)


# --- drawing ---------------------------------------------------------------------------------
_CELL = ("display:inline-block;min-width:34px;margin:1px;padding:2px 4px;border-radius:3px;"
         "font:11px monospace;text-align:center;")


def queue_html(queue: ClassicQueue) -> str:
    """The queue as cells: deleted (struck through, grey), unacknowledged (orange), ready (blue)."""
    cells = []
    for d in queue.deleted:
        cells.append(f"<span class='kafkalab-queue-deleted' style='{_CELL}background:#eee;"
                     f"color:#999;text-decoration:line-through' title='acked by "
                     f"{html.escape(d.consumer)}: deleted'>{html.escape(d.body)}<br>"
                     f"<small>acked</small></span>")
    for d in queue.unacked.values():
        cells.append(f"<span class='kafkalab-queue-unacked' style='{_CELL}background:#ffe2c6'>"
                     f"{html.escape(d.body)}<br><small>→{html.escape(d.consumer)}</small></span>")
    for _, body in queue.ready:
        cells.append(f"<span class='kafkalab-queue-ready' style='{_CELL}background:#cfe8ff'>"
                     f"{html.escape(body)}<br><small>ready</small></span>")
    if not cells:
        cells.append(f"<span style='{_CELL}color:#999'>(empty)</span>")
    return (f"<div class='kafkalab-queue' data-ready='{len(queue.ready)}' "
            f"data-unacked='{len(queue.unacked)}' data-deleted='{len(queue.deleted)}'>"
            f"<b>queue {html.escape(queue.name)}</b> — {len(queue.ready)} ready, "
            f"{len(queue.unacked)} unacked, {len(queue.deleted)} deleted "
            f"<small>(grey = deleted after ack; a real broker keeps no trace of them)</small>"
            f"<div>{''.join(cells)}</div></div>")


def _text(data: bytes | None) -> str:
    if data is None:
        return "∅"
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.hex()


def log_html(partition, positions: Mapping[str, int | None]) -> str:
    """One partition's log as cells with offset *and value*, the retention-deleted prefix, the
    high watermark (faded cells are not yet readable) and each reader's position (▲)."""
    log = partition.leader_log
    cells = []

    def marks(offset: int, at_end: bool = False) -> str:
        return "".join(f"<div style='color:#c00'>▲{html.escape(name)}</div>"
                       for name, pos in positions.items()
                       if pos is not None and (pos == offset or (at_end and pos > offset)))

    if log.log_start_offset > 0:
        gone = "".join(f"<div style='color:#c00'>▲{html.escape(name)} (gone: its next poll "
                       f"resets)</div>" for name, pos in positions.items()
                       if pos is not None and pos < log.log_start_offset)
        cells.append(f"<span class='kafkalab-log-deleted' style='{_CELL}background:#eee;"
                     f"color:#999'>offsets 0–{log.log_start_offset - 1}<br>"
                     f"<small>deleted by retention</small>{gone}</span>")

    for batch in log.batches():
        for r in batch.records:
            offset = batch.base_offset + r.offset_delta
            faded = "" if offset < log.high_watermark else "opacity:.45;"
            cells.append(f"<span class='kafkalab-record' data-offset='{offset}' "
                         f"style='{_CELL}background:#d7f5d0;{faded}'><b>{offset}</b><br>"
                         f"{html.escape(_text(r.value))}{marks(offset)}</span>")
    cells.append(f"<span style='{_CELL}border:1px dashed #999'>LEO {log.log_end_offset}"
                 f"{marks(log.log_end_offset, at_end=True)}</span>")
    waiting = [name for name, pos in positions.items() if pos is None]
    note = (f"<br><small>no position yet: {html.escape(', '.join(waiting))} (starts at "
            f"auto_offset_reset on its first poll)</small>" if waiting else "")
    return (f"<div class='kafkalab-log'><b>topic {html.escape(partition.topic)}</b>, partition "
            f"{partition.index} — log start offset {log.log_start_offset}, high watermark "
            f"{log.high_watermark}, log end offset {log.log_end_offset} "
            f"<small>(▲ = a reader's position: the next offset it will read)</small>"
            f"<div>{''.join(cells)}</div>{note}</div>")


def _values(records: dict) -> list[str]:
    out = []
    for batch in records.values():
        for r in batch:
            value = r.value
            out.append(value.decode("utf-8") if isinstance(value, bytes) else value)
    return out


class QueueVsLogWidget(StaticFallback):
    """Send the same messages to a :class:`ClassicQueue` and a Kafka topic; watch both.

    ``readers`` maps names to consumers of the topic (no group: each is an independent reader).
    The queue side has one ``worker`` that receives and acks.
    """

    def __init__(self, cluster: Cluster, topic: str, queue: ClassicQueue,
                 readers: Mapping[str, KafkaConsumer], worker: str = "worker",
                 prefix: str = "msg"):
        import ipywidgets as widgets

        self.cluster = cluster
        self.topic = topic
        self.queue = queue
        self.readers = dict(readers)
        self.worker = worker
        self.prefix = prefix
        self.queue_got: list[str] = []  # what the queue worker received (and acked)
        self.got: dict[str, list[str]] = {name: [] for name in self.readers}  # topic readers
        self.actions: list[str] = []
        self._counter = itertools.count(1)
        self._producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                                       value_serializer=lambda v: v.encode("utf-8"))
        auto = widgets.Layout(width="auto")
        send = widgets.Button(description="Send a message to both", button_style="primary",
                              icon="paper-plane", layout=auto,
                              tooltip="send the next message to the queue and to the topic")
        take = widgets.Button(description=f"queue {worker}: receive + ack", layout=auto,
                              tooltip=f"{worker} takes the oldest ready message from the queue "
                                      f"and acks it: the queue deletes it")
        wait = widgets.Button(description="Wait 1 day", icon="clock", layout=auto,
                              tooltip="move this cluster's simulated clock one day on (retention "
                                      "deletes segments whose newest record is too old)")
        send.on_click(lambda _: self.send())
        take.on_click(lambda _: self.work())
        wait.on_click(lambda _: self.wait(days=1))
        self.buttons = [send, take, wait]
        for name in self.readers:
            poll = widgets.Button(description=f"topic {name}: poll", layout=auto,
                                  tooltip=f"{name} polls the topic: reads from its position on "
                                          f"and moves the position; the records stay")
            replay = widgets.Button(description=f"topic {name}: replay from 0", icon="undo",
                                    layout=auto,
                                    tooltip=f"{name} seeks back to offset 0: its next poll "
                                            f"reads again from there")
            poll.on_click(lambda _, n=name: self.poll(n))
            replay.on_click(lambda _, n=name: self.replay(n, 0))
            self.buttons += [poll, replay]
        self.view = widgets.HTML()
        self.box = widgets.VBox([widgets.HBox(self.buttons[:3]), widgets.HBox(self.buttons[3:]),
                                 self.view])
        self.refresh()

    # --- actions (the buttons call these) ------------------------------------------------------
    def send(self, body: str | None = None) -> str:
        """Send one message to the queue and to the topic (waits for the broker's ack)."""
        body = body if body is not None else f"{self.prefix}-{next(self._counter)}"
        self.queue.send(body)
        self._producer.send(self.topic, value=body).get(timeout=10)
        self._note(f"sent {body!r} to queue and topic")
        return body

    def work(self) -> str | None:
        """The queue worker receives the oldest message and acks it (so it is deleted)."""
        delivery = self.queue.receive(self.worker)
        if delivery is None:
            self._note(f"queue {self.worker}: the queue is empty")
            return None
        self.queue.ack(delivery)
        self.queue_got.append(delivery.body)
        self._note(f"queue {self.worker} received and acked {delivery.body!r}: deleted from "
                   f"the queue")
        return delivery.body

    def poll(self, reader: str) -> list[str]:
        """One poll of a topic reader; returns the values it got."""
        values = _values(self.readers[reader].poll(timeout_ms=100))
        self.got[reader].extend(values)
        self._note(f"topic {reader} polled {values or 'nothing new'}")
        return values

    def replay(self, reader: str, offset: int = 0) -> None:
        """Move a reader back (seek) on every partition it reads; the next poll re-reads."""
        consumer = self.readers[reader]
        for tp in consumer.assignment():
            consumer.seek(tp, offset)
        self._note(f"topic {reader} seeks to offset {offset}: its next poll reads from there")

    def wait(self, ms: int = 0, *, days: float = 0) -> None:
        """Move the cluster's simulated clock on (by ``ms`` + ``days``); retention runs on the
        way."""
        total = int(ms + days * 86_400_000)
        self.cluster.advance(total)
        self._note(f"{duration_text(total)} passed (retention checks ran on the way)")

    def _note(self, text: str) -> None:
        self.actions.append(f"[{self.cluster.clock_text()}] {text}")
        self.refresh()

    # --- drawing -------------------------------------------------------------------------------
    def static_html(self) -> str:
        with self.cluster.lock:
            topic = self.cluster.topic(self.topic)
            log = "".join(
                log_html(p, {name: c.known_positions().get(p.tp)
                             for name, c in self.readers.items()})
                for p in topic.partitions)
        got = f"<li>queue <b>{html.escape(self.worker)}</b> got " \
              f"{html.escape(str(self.queue_got))}</li>" + "".join(
                  f"<li>topic <b>{html.escape(name)}</b> got {html.escape(str(values))}</li>"
                  for name, values in self.got.items())
        recent = "".join(f"<li>{html.escape(a)}</li>" for a in self.actions[-4:])
        cell = "vertical-align:top;text-align:left;padding:4px 10px;width:50%"
        clock = self.cluster.clock_text()
        first, *more = self.cluster.bootstrap_servers.split(",")
        where = f"{first}{'…' if more else ''}"
        return (f"<div class='kafkalab-queue-vs-log'>"
                f"<div class='kafkalab-clock' style='font:12px monospace;color:#333'>clock: {clock}"
                f" <small style='font-family:sans-serif;color:#777'>(simulated time since the "
                f"cluster at {html.escape(where)} started)</small>"
                f"</div><table style='width:100%'><tr>"
                f"<th style='{cell}'>classic message queue</th>"
                f"<th style='{cell}'>Kafka topic (event log)</th></tr><tr>"
                f"<td style='{cell}'>{queue_html(self.queue)}</td>"
                f"<td style='{cell}'>{log}</td></tr></table>"
                f"<ul style='margin:2px'>{got}</ul>"
                f"<small>last actions:</small><ul style='margin:2px;color:#555'>{recent}</ul>"
                f"</div>")

    def refresh(self) -> None:
        self.view.value = self.static_html()
