"""The lesson's durability claims, checked over randomized fault schedules.

«Данные не теряются при падении replication_factor - 1 брокеров», «acks=all: ждать
подтверждения от всех ISR» — with acks='all', RF=3, min.insync.replicas=2 and no unclean
election, no acknowledged record is ever lost and every replica ends identical; with the
idempotent producer (the default) no record is stored twice. With acks=1, or with unclean leader
election, the same schedules do lose acknowledged records; without idempotence they store some
records twice.
"""
import pytest

from kafkalab.reliability import run_fault_schedule

SEEDS = 500
# two partitions on one producer: an epoch bump for one must not disturb the other's retries
SCHEDULE = dict(records=100, fault_every=5, partitions=2)


def _failures(outcomes):
    """Outcomes that break either property: no acknowledged record lost, exactly one copy."""
    return [o for o in outcomes if o.lost or o.duplicates or not o.replicas_identical]


def test_acks_all_rf3_min_insync_2_loses_nothing_and_stores_nothing_twice():
    outcomes = [run_fault_schedule(seed, **SCHEDULE) for seed in range(SEEDS)]
    failures = _failures(outcomes)
    assert not failures, failures[0].explain()
    # the schedules really were hostile: records were refused or retried along the way
    assert sum(o.sent - len(o.acknowledged) for o in outcomes) > 0


@pytest.mark.slow
def test_both_properties_over_many_more_seeds():
    failures = _failures(run_fault_schedule(seed, **SCHEDULE)
                         for seed in range(SEEDS, 10 * SEEDS))
    assert not failures, failures[0].explain()


def test_without_idempotence_the_same_faults_store_records_twice():
    """The exactly-one-copy check can fail: a retry after a lost answer stores a copy."""
    doubled = [o for o in (run_fault_schedule(seed, enable_idempotence=False, **SCHEDULE)
                           for seed in range(100)) if o.duplicates]
    assert doubled, "without idempotence some schedule should store a record twice"
    assert not any(o.lost for o in doubled)  # acks=all still loses nothing


def test_acks_1_loses_acknowledged_records_under_the_same_faults():
    losing = [o for o in (run_fault_schedule(seed, acks=1, records=100, fault_every=5)
                          for seed in range(100)) if o.lost]
    assert losing, "acks=1 should lose an acknowledged record for some seed"
    # the loss is explained: the leader that acknowledged it was replaced and truncated
    assert any("replica.truncated" in line for line in losing[0].history)


def test_unclean_leader_election_loses_acknowledged_records_under_the_same_faults():
    losing = [o for o in (run_fault_schedule(seed, unclean=True, records=100, fault_every=5)
                          for seed in range(200)) if o.lost]
    assert losing, "unclean election should lose an acknowledged record for some seed"
    assert any("UNCLEAN" in line for line in losing[0].history)


def test_a_failing_seed_replays_identically():
    first, again = run_fault_schedule(26, unclean=True), run_fault_schedule(26, unclean=True)
    assert (first.lost, first.acknowledged, first.history) == \
        (again.lost, again.acknowledged, again.history)
