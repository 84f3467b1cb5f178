"""The lesson's own code, run against the engine (DESIGN §3: only the import changes).

Each snippet below is copied verbatim from the lesson (``../shared/seeds/000_ba928bf3052697ee.txt``)
with ``from kafka import`` -> ``from kafkalab import``; ``test_snippets_are_verbatim`` checks that
against the lesson file when it is present. The snippets run with ``exec`` in one namespace, in
the lesson's order, as a learner runs notebook cells; the tests assert on what they print and do.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kafka.record.default_records import DefaultRecordBatch

from kafkalab import Cluster, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.client.partitioner import partition_for_key

LESSON = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_ba928bf3052697ee.txt"

# --- ### Базовый Producer -------------------------------------------------------------------------
BASIC_PRODUCER = '''\
from kafkalab import KafkaProducer
import json

producer = KafkaProducer(
    bootstrap_servers=['localhost:9092'],
    value_serializer=lambda v: json.dumps(v).encode('utf-8')
)

# Отправка сообщения
order = {
    'order_id': '12345',
    'user_id': '789',
    'total': 99.99,
    'items': ['item1', 'item2']
}

future = producer.send('orders', value=order)

# Ожидание подтверждения
try:
    record_metadata = future.get(timeout=10)
    print(f"Sent to partition {record_metadata.partition} at offset {record_metadata.offset}")
except Exception as e:
    print(f"Error: {e}")

producer.close()
'''

# --- ### Producer с ключом (для партиционирования) ------------------------------------------------
KEYED_PRODUCER = '''\
# Сообщения с одинаковым ключом попадут в одну партицию
producer = KafkaProducer(
    bootstrap_servers=['localhost:9092'],
    key_serializer=lambda k: k.encode('utf-8'),
    value_serializer=lambda v: json.dumps(v).encode('utf-8')
)

# Все заказы пользователя 789 — в одной партиции (сохраняется порядок)
for i in range(10):
    producer.send(
        'orders',
        key='user_789',  # Partition = hash(key) % num_partitions
        value={'order_id': f'order_{i}', 'total': i * 10}
    )

producer.flush()
'''

# --- ### Асинхронный Producer с callback ----------------------------------------------------------
ASYNC_CALLBACK = '''\
def on_send_success(record_metadata):
    print(f"Message sent to {record_metadata.topic} "
          f"partition {record_metadata.partition} "
          f"offset {record_metadata.offset}")

def on_send_error(exc):
    print(f"Error sending message: {exc}")

# Async send
producer.send('orders', value=order) \\
    .add_callback(on_send_success) \\
    .add_errback(on_send_error)
'''

# --- ### Producer с compression ------------------------------------------------------------------
COMPRESSION_PRODUCER = '''\
# Сжатие для экономии bandwidth и storage
producer = KafkaProducer(
    bootstrap_servers=['localhost:9092'],
    compression_type='gzip',  # gzip, snappy, lz4, zstd
    value_serializer=lambda v: json.dumps(v).encode('utf-8')
)
'''

# --- ### Idempotent Producer ----------------------------------------------------------------------
IDEMPOTENT_PRODUCER = '''\
# Гарантия exactly-once для producer (дедупликация)
producer = KafkaProducer(
    bootstrap_servers=['localhost:9092'],
    enable_idempotence=True,  # Предотвращает дубликаты
    acks='all',  # Ожидание подтверждения от всех реплик
    retries=5,
    max_in_flight_requests_per_connection=5
)
'''

# --- ### Partition Assignment ---------------------------------------------------------------------
PARTITION_ASSIGNMENT = '''\
from kafkalab import KafkaConsumer, TopicPartition

consumer = KafkaConsumer(
    bootstrap_servers=['localhost:9092'],
    enable_auto_commit=False
)

# Ручное назначение партиций (без consumer group)
partition_0 = TopicPartition('orders', 0)
partition_1 = TopicPartition('orders', 1)

consumer.assign([partition_0, partition_1])

# Seek к конкретному offset
consumer.seek(partition_0, 100)  # Начать с offset 100

for message in consumer:
    print(f"Partition {message.partition}: {message.value}")
'''

# --- ### Базовый Consumer --------------------------------------
BASIC_CONSUMER = '''\
from kafkalab import KafkaConsumer
import json

consumer = KafkaConsumer(
    'orders',  # Topic
    bootstrap_servers=['localhost:9092'],
    auto_offset_reset='earliest',  # earliest, latest, none
    enable_auto_commit=True,
    group_id='email-service',
    value_deserializer=lambda m: json.loads(m.decode('utf-8'))
)

# Бесконечный цикл чтения
for message in consumer:
    print(f"Partition: {message.partition}, Offset: {message.offset}")
    print(f"Key: {message.key}, Value: {message.value}")

    # Обработка события
    order = message.value
    send_confirmation_email(order['user_id'], order['order_id'])
'''

# --- ### Manual Commit ---------------------------------------------------------------------------
MANUAL_COMMIT = '''\
consumer = KafkaConsumer(
    'orders',
    bootstrap_servers=['localhost:9092'],
    enable_auto_commit=False,  # Manual commit
    group_id='inventory-service'
)

for message in consumer:
    try:
        process_order(message.value)

        # Commit после успешной обработки
        consumer.commit()
    except Exception as e:
        print(f"Error processing message: {e}")
        # Не коммитим → сообщение обработается повторно
'''

# --- ### Batch Processing ------------------------------------------------------------------------
BATCH_PROCESSING = '''\
from kafkalab import TopicPartition

consumer = KafkaConsumer(
    'orders',
    bootstrap_servers=['localhost:9092'],
    enable_auto_commit=False,
    max_poll_records=100  # Читать до 100 сообщений за раз
)

while True:
    messages = consumer.poll(timeout_ms=1000)

    if not messages:
        continue

    batch = []
    for topic_partition, records in messages.items():
        for record in records:
            batch.append(record.value)

    # Обработка батча
    if batch:
        process_batch(batch)
        consumer.commit()
'''
# the endless loop, bounded: it ends at the first poll that returns nothing
BATCH_PROCESSING_BOUNDED = BATCH_PROCESSING.replace(
    "    if not messages:\n        continue\n", "    if not messages:\n        break\n")

# --- ### Rebalance Listener ----------------------------------------------------------------------
REBALANCE_LISTENER = '''\
from kafkalab import KafkaConsumer, ConsumerRebalanceListener, TopicPartition

class RebalanceListener(ConsumerRebalanceListener):
    def __init__(self, consumer):
        self.consumer = consumer

    def on_partitions_revoked(self, revoked):
        print(f"Partitions revoked: {revoked}")
        # Сохранить состояние перед rebalance
        self.consumer.commit()

    def on_partitions_assigned(self, assigned):
        print(f"Partitions assigned: {assigned}")
        # Загрузить состояние после rebalance

consumer = KafkaConsumer(
    'orders',
    bootstrap_servers=['localhost:9092'],
    group_id='service-1'
)

listener = RebalanceListener(consumer)
consumer.subscribe(['orders'], listener=listener)

for message in consumer:
    process(message)
'''

SNIPPETS = {
    "### Базовый Producer": BASIC_PRODUCER,
    "### Producer с ключом (для партиционирования)": KEYED_PRODUCER,
    "### Асинхронный Producer с callback": ASYNC_CALLBACK,
    "### Producer с compression": COMPRESSION_PRODUCER,
    "### Idempotent Producer": IDEMPOTENT_PRODUCER,
    "### Partition Assignment": PARTITION_ASSIGNMENT,
    "### Базовый Consumer": BASIC_CONSUMER,
    "### Manual Commit": MANUAL_COMMIT,
    "### Batch Processing": BATCH_PROCESSING,
    "### Rebalance Listener": REBALANCE_LISTENER,
}


def lesson_code(heading: str) -> str:
    """The first python block under ``heading`` in the lesson, imports changed to kafkalab."""
    text = LESSON.read_text(encoding="utf-8")
    section = text[text.index(heading + "\n"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    return (block.replace("from kafka import", "from kafkalab import")
            .replace("from kafka.errors import", "from kafkalab.errors import"))


@pytest.mark.skipif(not LESSON.exists(), reason="the lesson text is not next to this checkout")
@pytest.mark.parametrize("heading", list(SNIPPETS))
def test_snippets_are_verbatim(heading):
    assert SNIPPETS[heading] == lesson_code(heading)


@pytest.fixture
def lesson_cluster():
    """``kafka-topics --create --topic orders --partitions 3 --replication-factor 1``."""
    cluster = Cluster(brokers=1, seed=0)
    cluster.create_topic("orders", partitions=3, replication_factor=1)
    return cluster


def run(code: str, namespace: dict, capsys) -> list[str]:
    exec(compile(code, "<lesson>", "exec"), namespace)
    return capsys.readouterr().out.splitlines()


def test_basic_producer(lesson_cluster, capsys):
    namespace: dict = {}
    [line] = run(BASIC_PRODUCER, namespace, capsys)
    match = re.fullmatch(r"Sent to partition (\d) at offset 0", line)
    assert match, line
    partition = int(match.group(1))
    [batch] = list(lesson_cluster.partition("orders", partition).leader_log.batches())
    assert json.loads(batch.records[0].value) == namespace["order"]
    with pytest.raises(Exception, match="closed"):   # producer.close() really closed it
        namespace["producer"].send("orders", value={})


def test_basic_producer_without_a_cluster_gets_the_default_one(capsys):
    """Nothing created first: ``localhost:9092`` is a fresh one-broker cluster and the topic is
    auto-created with num.partitions=1."""
    assert run(BASIC_PRODUCER, {}, capsys) == ["Sent to partition 0 at offset 0"]


def test_basic_producer_reports_errors_through_its_except(lesson_cluster, capsys):
    lesson_cluster.alter_topic_config("orders", {"max.message.bytes": "50"})
    [line] = run(BASIC_PRODUCER, {}, capsys)
    assert line.startswith("Error: [Error 10] RecordTooLargeError: ")
    assert "larger than max.message.bytes=50" in line


def test_keyed_producer_keeps_a_users_orders_in_one_partition_in_order(lesson_cluster, capsys):
    namespace: dict = {}
    run(BASIC_PRODUCER, namespace, capsys)
    assert run(KEYED_PRODUCER, namespace, capsys) == []
    partition = partition_for_key(b"user_789", 3)   # Partition = hash(key) % num_partitions
    records = [r for b in lesson_cluster.partition("orders", partition).leader_log.batches()
               for r in b.records if r.key == b"user_789"]
    assert [json.loads(r.value) for r in records] == [
        {"order_id": f"order_{i}", "total": i * 10} for i in range(10)]
    others = [p for p in range(3) if p != partition]
    assert not any(r.key for p in others
                   for b in lesson_cluster.partition("orders", p).leader_log.batches()
                   for r in b.records)


# notebook 02 runs this between KEYED_PRODUCER and ASYNC_CALLBACK: the lesson's callback code
# sends without a key, and the keyed producer's key_serializer would get that None (kafka-python)
KEYLESS_PRODUCER = """\
producer = KafkaProducer(bootstrap_servers=['localhost:9092'],
                         value_serializer=lambda v: json.dumps(v).encode('utf-8'))
"""


def test_async_callback_after_the_keyed_producer_fails_on_the_missing_key(lesson_cluster,
                                                                          capsys):
    namespace: dict = {}
    run(BASIC_PRODUCER, namespace, capsys)
    run(KEYED_PRODUCER, namespace, capsys)
    with pytest.raises(AttributeError, match="^key_serializer failed on key=None"):
        run(ASYNC_CALLBACK, namespace, capsys)   # kafka-python: k.encode on None fails too


def test_async_callback_fires_when_time_moves_not_at_send(lesson_cluster, capsys):
    namespace: dict = {}
    run(BASIC_PRODUCER, namespace, capsys)
    run(KEYED_PRODUCER, namespace, capsys)
    run(KEYLESS_PRODUCER, namespace, capsys)
    assert run(ASYNC_CALLBACK, namespace, capsys) == []   # the send is in flight
    namespace["producer"].flush()
    [line] = capsys.readouterr().out.splitlines()
    match = re.fullmatch(r"Message sent to orders partition (\d) offset (\d+)", line)
    assert match, line
    partition, offset = int(match.group(1)), int(match.group(2))
    assert lesson_cluster.partition("orders", partition).log_end_offset == offset + 1


def test_async_callback_error_path(lesson_cluster, capsys):
    namespace: dict = {}
    run(BASIC_PRODUCER, namespace, capsys)
    run(KEYED_PRODUCER, namespace, capsys)
    run(KEYLESS_PRODUCER, namespace, capsys)
    lesson_cluster.alter_topic_config("orders", {"max.message.bytes": "60"})
    run(ASYNC_CALLBACK, namespace, capsys)
    namespace["producer"].flush()
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("Error sending message: [Error 10] RecordTooLargeError")


def test_partition_assignment_reads_from_offset_100_and_ends_on_its_own(lesson_cluster, capsys):
    producer = KafkaProducer(bootstrap_servers=lesson_cluster.bootstrap_servers)
    for i in range(120):
        producer.send("orders", value=b"order %d" % i, partition=0)
    for i in range(5):
        producer.send("orders", value=b"old %d" % i, partition=1)
    producer.flush()
    start = lesson_cluster.now_ms()
    lines = run(PARTITION_ASSIGNMENT, {}, capsys)
    # partition 0 from offset 100; partition 1 starts at the end (auto_offset_reset='latest')
    assert lines == [f"Partition 0: b'order {i}'" for i in range(100, 120)]
    assert lesson_cluster.now_ms() == start   # the world was idle: the loop did not wait


def test_partition_assignment_sees_new_records_on_both_partitions(lesson_cluster, capsys):
    producer = KafkaProducer(bootstrap_servers=lesson_cluster.bootstrap_servers, linger_ms=100)
    for i in range(101):
        producer.send("orders", value=b"order %d" % i, partition=0)
    producer.flush()
    # records still lingering in a producer when the loop starts are read as they arrive
    producer.send("orders", value=b"new on 1", partition=1)
    producer.send("orders", value=b"new on 0", partition=0)
    lines = run(PARTITION_ASSIGNMENT, {}, capsys)
    assert sorted(lines) == ["Partition 0: b'new on 0'", "Partition 0: b'order 100'",
                             "Partition 1: b'new on 1'"]


def test_partition_assignment_past_the_end_resets_and_explains(lesson_cluster, capsys):
    KafkaProducer(bootstrap_servers=lesson_cluster.bootstrap_servers).send(
        "orders", value=b"only one", partition=0).get(timeout=10)
    assert run(PARTITION_ASSIGNMENT, {}, capsys) == []
    resets = lesson_cluster.events.of_kind("consumer.offset_reset")
    assert any("orders-0 to offset 1 (latest): offset 100 is out of range" in e.text
               for e in resets)


def test_basic_consumer_reads_every_order_as_a_group_member(lesson_cluster, capsys):
    producer = KafkaProducer(value_serializer=lambda v: json.dumps(v).encode("utf-8"))
    for i in range(6):
        producer.send("orders", {"order_id": str(i), "user_id": f"u{i % 2}"})
    producer.flush()
    emails = []
    namespace = {"send_confirmation_email": lambda user, order: emails.append((user, order))}
    lines = run(BASIC_CONSUMER, namespace, capsys)   # the endless loop ends when the world idles
    assert sorted(emails) == sorted((f"u{i % 2}", str(i)) for i in range(6))
    assert len(lines) == 12
    assert namespace["consumer"].assignment() == {TopicPartition("orders", p) for p in range(3)}


def test_producer_acks_settings_from_the_lesson(lesson_cluster):
    """### Producer ACKs: ``KafkaProducer(acks=...)`` with kafka-python's default address."""
    # acks=0 learns no offset (-1), but its record is stored at offset 0 all the same
    for acks, offset in ((0, -1), (1, 1), ("all", 2)):
        producer = KafkaProducer(acks=acks)
        metadata = producer.send("orders", value=b"v", partition=2).get(timeout=10)
        assert metadata.offset == offset
    assert lesson_cluster.partition("orders", 2).log_end_offset == 3


def test_compression_producer_stores_gzip_batches_read_back_as_they_were(lesson_cluster,
                                                                          capsys):
    """### Producer с compression: the lesson's orders, gzip-compressed in the log."""
    namespace: dict = {}
    run(BASIC_PRODUCER, namespace, capsys)
    assert run(COMPRESSION_PRODUCER, namespace, capsys) == []
    producer, order = namespace["producer"], namespace["order"]
    orders = [dict(order, order_id=str(12345 + i)) for i in range(50)]
    futures = [producer.send("orders", value=o) for o in orders]
    producer.flush()
    [partition] = {f.get(timeout=0).partition for f in futures}   # one sticky batch
    batch = list(lesson_cluster.partition("orders", partition).leader_log.batches())[-1]
    assert batch.compression_type == "gzip" and batch.record_count == 50
    plain = sum(len(json.dumps(o).encode("utf-8")) for o in orders)
    assert batch.size_in_bytes < plain / 3                         # "экономия storage"
    assert DefaultRecordBatch(batch.raw).compression_type == 1      # gzip, says kafka-python
    assert producer.metrics()["producer-metrics"]["compression-rate-avg"] < 0.5
    consumer = KafkaConsumer(bootstrap_servers=lesson_cluster.bootstrap_servers,
                             value_deserializer=lambda m: json.loads(m.decode("utf-8")))
    tp = TopicPartition("orders", partition)
    consumer.assign([tp])
    consumer.seek(tp, batch.base_offset)
    assert [m.value for m in consumer] == orders


def test_idempotent_producer_stores_a_retried_order_once(lesson_cluster, capsys):
    """### Idempotent Producer: "Гарантия exactly-once для producer (дедупликация)"."""
    namespace: dict = {}
    run(BASIC_PRODUCER, namespace, capsys)
    assert run(IDEMPOTENT_PRODUCER, namespace, capsys) == []
    producer = namespace["producer"]
    assert producer.producer_id >= 0 and producer.config["acks"] == -1
    lesson_cluster.faults.drop_produce_responses(count=1)   # the acknowledgement gets lost
    metadata = producer.send("orders", value=b"payment 99.99", partition=1).get(timeout=60)
    assert metadata.offset == 0
    assert lesson_cluster.records("orders", 1)["value"].tolist() == ["payment 99.99"]
    [duplicate] = lesson_cluster.events.of_kind("produce.duplicate")
    assert "not appended again" in duplicate.text
    assert producer.metrics()["producer-metrics"]["record-retry-rate"] > 0


# --- consumer groups: Manual Commit, Batch Processing, Rebalance Listener ------------------------
def send_soon(cluster, values, partition=None, linger_ms=5000):
    """Orders sent now but appended ``linger_ms`` later — after a consumer that starts at the
    end of the log (auto_offset_reset='latest', the lesson's default) has joined its group."""
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, linger_ms=linger_ms)
    for v in values:
        producer.send("orders", value=v, partition=partition)
    return producer


def committed_of(cluster, group):
    return {tp.partition: o.offset
            for tp, o in cluster.group_coordinator.fetch_offsets(group).items()}


def failing_on(bad: bytes, processed: list):
    def process_order(value):
        if value == bad:
            raise ValueError(f"cannot process {value!r}")
        processed.append(value)
    return process_order


def test_manual_commit_commits_after_each_processed_order(lesson_cluster, capsys):
    processed: list = []
    send_soon(lesson_cluster, [b"order %d" % i for i in range(6)])
    namespace = {"KafkaConsumer": KafkaConsumer, "process_order": processed.append}
    assert run(MANUAL_COMMIT, namespace, capsys) == []
    assert sorted(processed) == [b"order %d" % i for i in range(6)]
    ends = {p: lesson_cluster.partition("orders", p).high_watermark for p in range(3)}
    assert committed_of(lesson_cluster, "inventory-service") == ends


def test_manual_commit_a_failed_order_is_skipped_by_the_next_commit(lesson_cluster, capsys):
    """"Не коммитим → сообщение обработается повторно" holds only while nothing after it is
    committed: commit() stores the position, which is already past the failed order, and the
    next successful order's commit covers it. After a restart it is not read again."""
    processed: list = []
    orders = [b"order 0", b"order 1", b"bad order", b"order 3"]
    send_soon(lesson_cluster, orders, partition=0)
    namespace = {"KafkaConsumer": KafkaConsumer,
                 "process_order": failing_on(b"bad order", processed)}
    lines = run(MANUAL_COMMIT, namespace, capsys)
    assert lines == ["Error processing message: cannot process b'bad order'"]
    assert committed_of(lesson_cluster, "inventory-service")[0] == 4
    namespace["consumer"].close()                              # restart the service
    assert run(MANUAL_COMMIT, namespace, capsys) == []         # the bad order is gone
    assert processed == [b"order 0", b"order 1", b"order 3"]


def test_manual_commit_the_last_failed_order_is_read_again_after_a_restart(lesson_cluster,
                                                                           capsys):
    processed: list = []
    send_soon(lesson_cluster, [b"order 0", b"order 1", b"bad order"], partition=0)
    namespace = {"KafkaConsumer": KafkaConsumer,
                 "process_order": failing_on(b"bad order", processed)}
    run(MANUAL_COMMIT, namespace, capsys)
    assert committed_of(lesson_cluster, "inventory-service")[0] == 2
    namespace["consumer"].close()
    namespace["process_order"] = processed.append              # the bug is fixed; restart
    assert run(MANUAL_COMMIT, namespace, capsys) == []
    assert processed == [b"order 0", b"order 1", b"bad order"]   # read again, once
    assert committed_of(lesson_cluster, "inventory-service")[0] == 3


def test_batch_processing_as_written_cannot_commit_without_a_group_id(lesson_cluster, capsys):
    """The lesson's batch consumer has no group_id: its first consumer.commit() raises (as in
    kafka-python: commit needs a consumer group to store offsets in)."""
    from kafkalab.errors import IllegalStateError

    assert SNIPPETS["### Batch Processing"].count("while True") == 1
    assert BATCH_PROCESSING_BOUNDED != BATCH_PROCESSING
    send_soon(lesson_cluster, [b"order %d" % i for i in range(150)], partition=0,
              linger_ms=500)
    batches: list = []
    namespace = {"KafkaConsumer": KafkaConsumer, "process_batch": batches.append}
    with pytest.raises(IllegalStateError, match="group_id"):
        run(BATCH_PROCESSING_BOUNDED, namespace, capsys)
    assert [len(b) for b in batches] == [100]                  # the first batch, then commit()


def test_batch_processing_with_a_group_id_reads_batches_of_at_most_100(capsys):
    cluster = Cluster(brokers=1, seed=0, config={"group.initial.rebalance.delay.ms": 0})
    cluster.create_topic("orders", partitions=3, replication_factor=1)
    send_soon(cluster, [b"order %d" % i for i in range(250)], partition=1, linger_ms=500)
    code = BATCH_PROCESSING_BOUNDED.replace(
        "    enable_auto_commit=False,\n", "    enable_auto_commit=False,\n"
        "    group_id='batch-service',\n", 1)
    batches: list = []
    namespace = {"KafkaConsumer": KafkaConsumer, "process_batch": batches.append}
    assert run(code, namespace, capsys) == []
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [v for b in batches for v in b] == [b"order %d" % i for i in range(250)]
    assert committed_of(cluster, "batch-service")[1] == 250


def printed_partitions(line: str) -> tuple[str, list[int]]:
    match = re.fullmatch(r"Partitions (revoked|assigned): (set\(\)|\{.*\})", line)
    assert match, line
    return match.group(1), sorted(int(p) for p in re.findall(r"partition=(\d+)", line))


def test_rebalance_listener_commits_before_a_second_instance_takes_partitions(lesson_cluster,
                                                                              capsys):
    import group_helpers

    processed: list = []
    send_soon(lesson_cluster, [b"order %d" % i for i in range(6)])
    namespace = {"process": processed.append}
    lines = run(REBALANCE_LISTENER, namespace, capsys)
    # kafka-python 3 (eager): the first join revokes an empty set, then assigns
    assert [printed_partitions(x) for x in lines] == [("revoked", []), ("assigned", [0, 1, 2])]
    assert len(processed) == 6
    consumer = namespace["consumer"]
    positions = {tp.partition: consumer.position(tp) for tp in consumer.assignment()}
    # a second instance of service-1 starts: the group rebalances
    second = KafkaConsumer("orders", bootstrap_servers=lesson_cluster.bootstrap_servers,
                           group_id="service-1")
    group_helpers.settle(lesson_cluster, [consumer, second], "service-1")
    lines = capsys.readouterr().out.splitlines()
    mine = sorted(tp.partition for tp in consumer.assignment())
    assert [printed_partitions(x) for x in lines] == [("revoked", [0, 1, 2]),
                                                      ("assigned", mine)]
    # on_partitions_revoked committed what had been processed
    assert committed_of(lesson_cluster, "service-1") == positions
    assert sorted([len(mine), len(second.assignment())]) == [1, 2]   # range: 2 + 1
    assert consumer.assignment() | second.assignment() == {
        TopicPartition("orders", p) for p in range(3)}
    events = [e.kind for e in lesson_cluster.events.of_kind("group")]
    assert events.count("group.stable") == 2
