"""The idempotent producer stores each send() once, whatever fails around it (KIP-360).

An epoch bump after a failed batch restarts the sequence numbers of that batch's partition
only; a batch whose fate is unknown — the leader may have appended it — keeps its epoch and
sequence, so the broker answers its retry with the original offset instead of storing it again.
"""
from kafkalab import Cluster, KafkaProducer


def two_partitions_led_by_broker_1(cluster: Cluster) -> None:
    cluster.create_topic("payments", config={"min.insync.replicas": 2},
                         replica_assignment={0: [1, 2, 3], 1: [1, 2, 3]})


def followers_die_then_two_sends(**timeouts):
    """Brokers 2 and 3 (both followers of payments-0 and -1) die; one record goes to partition
    0, and 5 s later one to partition 1. Returns (cluster, producer, first, second)."""
    cluster = Cluster(brokers=3)
    two_partitions_led_by_broker_1(cluster)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, **timeouts)
    cluster.kill_broker(2)
    cluster.kill_broker(3)
    first = producer.send("payments", value=b"first", partition=0)
    cluster.advance(seconds=5)
    second = producer.send("payments", value=b"second", partition=1)
    return cluster, producer, first, second


def values(cluster, partition):
    return cluster.records("payments", partition)["value"].tolist()


def test_a_batch_retried_across_another_partitions_epoch_bump_is_stored_once():
    """The audit's case: two followers die, a batch on partition 0 expires and bumps the
    epoch while a batch on partition 1 — appended by the leader, never acknowledged — is still
    being retried. After the followers return it must be recognised, not stored again."""
    cluster, producer, first, second = followers_die_then_two_sends(
        request_timeout_ms=1000, delivery_timeout_ms=30_000)  # second: appended, unanswered
    cluster.advance(seconds=26)
    assert first.failed() and not second.is_done          # the epoch was bumped for partition 0
    assert producer.producer_epoch == 1
    [bump] = cluster.events.of_kind("producer.epoch_bumped")
    assert "payments-0" in bump.text and "payments-1" not in bump.text
    cluster.restart_broker(2)
    cluster.restart_broker(3)
    assert second.get(timeout=60).offset == 0             # its original offset
    cluster.advance(seconds=10)
    assert values(cluster, 1) == ["second"]               # one copy, committed
    assert cluster.partition("payments", 1).high_watermark == 1
    # the retry kept its old epoch and sequence, and the broker said so
    assert any("payments-1" in e.text for e in cluster.events.of_kind("produce.duplicate"))


def test_a_batch_appended_before_the_isr_shrank_keeps_its_sequence():
    """NotEnoughReplicasAfterAppend: the leader has the batch. Its retry must not be
    renumbered by an epoch bump, or the partition would hold it twice."""
    cluster, producer, first, second = followers_die_then_two_sends(
        request_timeout_ms=20_000, delivery_timeout_ms=60_000)
    cluster.advance(seconds=10)   # fenced: the ISR shrinks to [1] under the waiting append,
    assert not second.is_done     # answered NotEnoughReplicasAfterAppend, and is retried
    cluster.advance(seconds=47)                            # first expires: epoch bump
    assert first.failed() and producer.producer_epoch == 1
    cluster.restart_broker(2)
    cluster.restart_broker(3)
    assert second.get(timeout=60).offset == 0
    cluster.advance(seconds=10)
    assert values(cluster, 1) == ["second"]


def test_a_gap_left_by_a_refused_batch_renumbers_only_its_partition():
    """A batch refused for good (never stored) leaves a gap in partition 0; partition 0 starts
    again at sequence 0 under a new epoch, and partition 1 goes on with its own numbers until it
    has nothing in flight."""
    cluster = Cluster(brokers=1)
    cluster.create_topic("payments", partitions=2)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             request_timeout_ms=1000, delivery_timeout_ms=5000)
    producer.send("payments", value=b"a", partition=0).get(timeout=10)
    producer.send("payments", value=b"b", partition=1).get(timeout=10)
    cluster.faults.fail_produce_requests(count=float("inf"), topic="payments")
    lost = producer.send("payments", value=b"lost", partition=0)
    cluster.advance(seconds=6)
    assert lost.failed()
    cluster.faults.clear()
    after = [producer.send("payments", value=b"c", partition=p) for p in (0, 1)]
    assert [f.get(timeout=10).offset for f in after] == [1, 1]
    assert producer.producer_epoch == 1
    assert (values(cluster, 0), values(cluster, 1)) == (["a", "c"], ["b", "c"])
    batches = [b for b in cluster.partition("payments", 0).leader_log.batches()]
    assert [(b.producer_epoch, b.base_sequence) for b in batches] == [(0, 0), (1, 0)]
