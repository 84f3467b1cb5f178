"""ProducerStateManager: how a partition tells a retried batch from a new one (idempotence).

The broker remembers, per producer id, its epoch and the last five batches it appended (first and
last sequence number, first and last offset). These tests drive it directly, as the broker does
before each append (``check``) and after it (``record``), then once through a partition's log.
"""
from __future__ import annotations

import pytest

from kafkalab.config import BrokerConfig, TopicConfig
from kafkalab.errors import InvalidProducerEpochError, OutOfOrderSequenceNumberError
from kafkalab.record import Record, RecordBatch
from kafkalab.storage import PartitionLog
from kafkalab.storage.producer_state import (
    BATCHES_PER_PRODUCER,
    BatchMetadata,
    ProducerStateManager,
)

PID, EPOCH = 7, 0


def append(state: ProducerStateManager, first: int, count: int, base_offset: int,
           producer_id: int = PID, epoch: int = EPOCH) -> None:
    """What the broker does for a new batch: check, then remember it."""
    last = first + count - 1
    assert state.check(producer_id, epoch, first, last) is None   # new: append it
    state.record(producer_id, epoch, first, last, base_offset, base_offset + count - 1)


@pytest.fixture
def state() -> ProducerStateManager:
    return ProducerStateManager("orders-0")


def test_the_broker_remembers_five_batches_per_producer(state):
    assert BATCHES_PER_PRODUCER == 5   # Kafka's number, = max.in.flight.requests.per.connection
    for i in range(7):                 # batches of 3 records: sequences 0-2, 3-5, ... 18-20
        append(state, 3 * i, 3, base_offset=100 + 3 * i)
    cached = list(state.producers[PID].batches)
    assert [(b.first_sequence, b.last_sequence) for b in cached] == [
        (6, 8), (9, 11), (12, 14), (15, 17), (18, 20)]


def test_a_retry_of_any_of_the_last_five_is_a_duplicate_with_its_original_offsets(state):
    for i in range(6):
        append(state, 2 * i, 2, base_offset=50 + 2 * i)
    for i in range(1, 6):              # batches 1..5 are cached; each retry returns its offsets
        assert state.check(PID, EPOCH, 2 * i, 2 * i + 1) == BatchMetadata(
            2 * i, 2 * i + 1, 50 + 2 * i, 51 + 2 * i)
    assert len(state.producers[PID].batches) == 5   # a duplicate is not remembered again


def test_a_retry_of_the_sixth_oldest_batch_is_not_recognised(state):
    """Kafka keeps five: a retry of an older batch looks like a batch out of order."""
    for i in range(6):
        append(state, 2 * i, 2, base_offset=2 * i)
    with pytest.raises(OutOfOrderSequenceNumberError, match="sent sequence 0 but 12 was expected"):
        state.check(PID, EPOCH, 0, 1)


def test_a_gap_in_the_sequence_is_refused_with_the_numbers(state):
    append(state, 0, 5, base_offset=0)
    with pytest.raises(OutOfOrderSequenceNumberError) as caught:
        state.check(PID, EPOCH, 8, 9)  # 5..7 are missing
    message = str(caught.value)
    assert "orders-0" in message and "producer 7 sent sequence 8 but 5 was expected" in message
    assert "last appended: 4" in message
    assert state.check(PID, EPOCH, 5, 7) is None   # a refusal changed nothing


def test_a_new_producers_first_batch_must_have_sequence_0(state):
    with pytest.raises(OutOfOrderSequenceNumberError,
                       match="first batch of producer 7 epoch 0 has sequence 3, expected 0"):
        state.check(PID, EPOCH, 3, 4)
    assert PID not in state.producers
    append(state, 0, 1, base_offset=0)


def test_an_older_epoch_is_fenced(state):
    append(state, 0, 1, base_offset=0, epoch=2)
    with pytest.raises(InvalidProducerEpochError,
                       match="producer 7 has epoch 1 but epoch 2 is current"):
        state.check(PID, 1, 1, 1)


def test_a_new_epoch_starts_again_at_sequence_0_and_forgets_the_old_batches(state):
    append(state, 0, 3, base_offset=0)
    append(state, 3, 3, base_offset=3)
    with pytest.raises(OutOfOrderSequenceNumberError, match="epoch 1 has sequence 6, expected 0"):
        state.check(PID, 1, 6, 8)
    append(state, 0, 2, base_offset=6, epoch=1)      # KIP-360: the bumped epoch numbers from 0
    assert state.producers[PID].epoch == 1
    assert [(b.first_sequence, b.base_offset) for b in state.producers[PID].batches] == [(0, 6)]


def test_producers_are_tracked_separately(state):
    append(state, 0, 2, base_offset=0, producer_id=1)
    append(state, 0, 2, base_offset=2, producer_id=2)   # its own sequence 0
    assert state.check(1, EPOCH, 0, 1).base_offset == 0
    assert state.check(2, EPOCH, 0, 1).base_offset == 2


def test_sequences_wrap_at_int32(state):
    top = 2**31 - 1                                  # a long-lived producer, far along:
    state.record(PID, EPOCH, top - 1, top, 0, 1)     # sequences 2147483646..2147483647
    assert state.check(PID, EPOCH, 0, 1) is None     # the next batch starts again at 0
    state.record(PID, EPOCH, 0, 1, 2, 3)
    with pytest.raises(OutOfOrderSequenceNumberError, match="sequence 5 but 2 was expected"):
        state.check(PID, EPOCH, 5, 5)


def batch(sequence: int, count: int, producer_id: int = PID, epoch: int = EPOCH) -> RecordBatch:
    records = [Record(i, 1_000, None, b"order %d" % (sequence + i), []) for i in range(count)]
    return RecordBatch(records, producer_id=producer_id, producer_epoch=epoch,
                       base_sequence=sequence)


def test_the_log_records_appended_batches_and_spots_their_retries():
    log = PartitionLog("orders", 0, TopicConfig(BrokerConfig()), lambda: 1_000)
    first, second = batch(0, 3), batch(3, 2)
    assert log.duplicate_of(first) is None
    log.append_as_leader(first, 0)
    log.append_as_leader(second, 0)
    retry = batch(0, 3)                               # the same records, sent again
    assert log.duplicate_of(retry) == BatchMetadata(0, 2, 0, 2)
    assert log.log_end_offset == 5
    with pytest.raises(OutOfOrderSequenceNumberError):
        log.duplicate_of(batch(9, 1))
    plain = RecordBatch([Record(0, 1_000, None, b"v", [])])   # not idempotent: never checked
    assert log.duplicate_of(plain) is None
