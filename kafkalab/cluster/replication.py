"""Replication: followers fetch from their leader; the ISR and high watermark follow them.

Each follower replica fetches from the partition leader as scheduled work in simulated time:
one round trip after the leader appends or its high watermark moves (the long-poll answering),
plus ``slow_follower`` delay; a fetch that cannot reach its leader is sent again when the
topology changes (restart, heal, new leader). A crashed broker's fetches die with it. Before
copying, a follower whose leader epoch is stale (it was the old leader, or it restarted) asks
the leader where its last epoch ended and truncates where the two logs stop agreeing
(KIP-101/279), so replicas never diverge; one that needs offsets the leader's retention already
deleted starts over at the leader's log start offset, and every follower moves its log start
offset up to the leader's (records deleted by DeleteRecords). The leader learns each
follower's log end and log start offsets from its fetches; the high watermark is the smallest
log end offset over the ISR, and
``acks='all'`` produces wait for it in the leader's Produce purgatory (see
:mod:`.delayed_produce`), told here when it moves or leadership moves. A follower that has not caught up for
``replica.lag.time.max.ms`` is dropped from the ISR; it rejoins once it reaches the leader's
log end offset. ISR changes go through the controller.

Invariants: a follower appends only batches that start at its own log end offset, copied from
the current leader after reconciling epochs; the leader's waiting requests on a partition are
told whenever its high watermark or its leader changes, or its topic is deleted.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .partition import Partition

if TYPE_CHECKING:
    from .context import ReplicationContext


class ReplicaManager:
    def __init__(self, cluster: "ReplicationContext"):
        self.cluster = cluster
        # (topic, partition, follower) -> (timer, partition) of its fetch on its way
        self._pending_fetch: dict[tuple[str, int, int], tuple] = {}
        self._lag_checks: dict[tuple[str, int], object] = {}  # (topic, partition) -> timer
        self.slow_followers: dict[int, int] = {}  # broker -> extra fetch delay ms

    @property
    def _scheduler(self):
        return self.cluster.scheduler

    def _config(self, name: str):
        return self.cluster.config[name]

    # --- fetching ------------------------------------------------------------------------------
    def on_leader_append(self, partition: Partition) -> None:
        """Answer the followers' waiting fetches: each copies the new batches a round trip on."""
        for follower in partition.replicas:
            if follower != partition.leader:
                self._schedule_fetch(partition, follower, 2 * self.cluster.network_latency_ms)
        if len(partition.isr) > 1:
            self._schedule_lag_check(partition, self._config("replica.lag.time.max.ms") + 1)
        self.maybe_complete(partition)

    def on_leader_log_start_moved(self, partition: Partition) -> None:
        """The leader's log start offset moved (DeleteRecords, retention): each follower learns
        it from the answer to its waiting fetch, a round trip on."""
        for follower in partition.replicas:
            if follower != partition.leader:
                self._schedule_fetch(partition, follower, 2 * self.cluster.network_latency_ms)

    def _schedule_lag_check(self, partition: Partition, delay_ms: int) -> None:
        key = (partition.topic, partition.index)
        if key in self._lag_checks:
            return

        def check():
            self._lag_checks.pop(key, None)
            self._check_lag(partition)
        self._lag_checks[key] = self._scheduler.call_later(delay_ms, check, background=True)

    def forget_partition(self, partition: Partition) -> None:
        """The partition's topic was deleted: its fetches and lag checks stop, and requests
        waiting on its leader fail (a topic created again under the same name starts afresh)."""
        key = (partition.topic, partition.index)
        for fetch in [k for k in self._pending_fetch if k[:2] == key]:
            self._pending_fetch.pop(fetch)[0].cancel()
        timer = self._lag_checks.pop(key, None)
        if timer is not None:
            timer.cancel()
        if partition.leader is not None:
            self.cluster.brokers[partition.leader].complete_delayed_requests(*key)

    def _schedule_fetch(self, partition: Partition, follower: int, delay_ms: int,
                        background: bool = False) -> None:
        key = (partition.topic, partition.index, follower)
        if key in self._pending_fetch or not self.cluster.brokers[follower].alive:
            return
        delay_ms += self.slow_followers.get(follower, 0)
        timer = self._scheduler.call_later(delay_ms, lambda: self._fetch(partition, follower),
                                           background=background)
        self._pending_fetch[key] = (timer, partition)

    def drop_fetches(self, broker_id: int) -> None:
        """A crashed broker's fetches die with it (a restart fetches afresh)."""
        for key in [k for k in self._pending_fetch if k[2] == broker_id]:
            self._pending_fetch.pop(key)[0].cancel()

    def retime_fetches(self, broker_id: int) -> None:
        """The broker's fetch delay changed (slow_follower, heal): its waiting fetches go out
        again with the new delay, counted from now."""
        waiting = [(k, p) for k, (_, p) in self._pending_fetch.items() if k[2] == broker_id]
        self.drop_fetches(broker_id)
        for _, partition in waiting:
            self._schedule_fetch(partition, broker_id, self.cluster.network_latency_ms)

    def resync(self) -> None:
        """After a topology change (restart, heal, new leader): every follower that is behind,
        out of sync or on an old leader epoch fetches again."""
        for topic in list(self.cluster.topics.values()):
            for p in topic.partitions:
                if p.leader is None:
                    continue
                leader_leo = p.leader_log.log_end_offset
                for f in p.replicas:
                    if f != p.leader and (f not in p.isr or p.logs[f].log_end_offset < leader_leo
                                          or p.synced_epoch.get(f) != p.leader_epoch):
                        self._schedule_fetch(p, f, self.cluster.network_latency_ms)

    def _fetch(self, partition: Partition, follower: int) -> None:
        self._pending_fetch.pop((partition.topic, partition.index, follower), None)
        leader = partition.leader
        if (leader is None or follower == leader or follower not in partition.logs
                or not self.cluster.network.brokers_connected(follower, leader)):
            return
        log, leader_log = partition.logs[follower], partition.logs[leader]
        if partition.synced_epoch.get(follower) != partition.leader_epoch:
            self._truncate_to_leader(partition, follower)
        if log.log_end_offset < leader_log.log_start_offset:
            # what we need next was deleted by retention on the leader: start over where the
            # leader's log starts (Kafka's truncateFullyAndStartAt)
            self.cluster.events.emit(
                "replica.reset", f"replica of {partition.name} on broker {follower} ends at "
                f"offset {log.log_end_offset}, but leader {leader} keeps only offsets from "
                f"{leader_log.log_start_offset} (retention deleted the rest): it drops its log "
                f"and copies the leader's from {leader_log.log_start_offset}",
                topic=partition.topic, partition=partition.index, broker=follower,
                offset=leader_log.log_start_offset)
            log.truncate_fully_and_start_at(leader_log.log_start_offset)
        if log.log_end_offset < leader_log.log_end_offset:
            for batch in leader_log.read(log.log_end_offset, 2**31 - 1,
                                         upper_offset=leader_log.log_end_offset):
                log.append_as_follower(batch)
        now = self.cluster.now_ms()
        partition.follower_leo[follower] = log.log_end_offset
        if log.log_end_offset >= leader_log.log_end_offset:
            partition.last_caught_up_ms[follower] = now
        self._maybe_expand_isr(partition, follower)
        self.maybe_complete(partition)
        log.high_watermark = min(partition.high_watermark, log.log_end_offset)
        # the fetch response carries the leader's log start offset: the follower follows it
        # (DeleteRecords), and the leader learns the follower's from its next fetch
        log.maybe_increment_log_start_offset(leader_log.log_start_offset)
        if partition.follower_log_start.get(follower) != log.log_start_offset:
            partition.follower_log_start[follower] = log.log_start_offset
            self.cluster.brokers[leader].low_watermark_moved(partition.topic, partition.index)
        if log.log_end_offset < partition.leader_log.log_end_offset:
            self._schedule_fetch(partition, follower, self.cluster.network_latency_ms)

    def _truncate_to_leader(self, partition: Partition, follower: int) -> None:
        """KIP-101/279, as Kafka's follower does it: ask the leader where our latest epoch
        ended (OffsetsForLeaderEpoch) and cut our log where the two stop agreeing — not at our
        high watermark, which can cut records the leader has or keep records it has not.

        The leader answers with the largest epoch it knows that is not newer than ours, and
        where that epoch ended on it. If we know that epoch too, the logs agree up to the
        smaller of the two ends. If we do not (we led an epoch the leader never heard of), we
        cut to where our own older epoch ended and ask again (KIP-279)."""
        log, leader_log = partition.logs[follower], partition.leader_log
        before, asked = log.log_end_offset, log.epochs.latest_epoch
        while log.log_end_offset > log.log_start_offset:
            epoch = log.epochs.latest_epoch
            if epoch < 0:  # records without any epoch: fall back to the high watermark
                self._cut(log, min(log.high_watermark, log.log_end_offset))
                break
            leader_epoch, leader_end = leader_log.epochs.end_offset_for(
                epoch, leader_log.log_end_offset)
            if leader_epoch < 0:  # the leader knows no epoch at all: it has no records
                self._cut(log, min(leader_log.log_end_offset, log.log_end_offset))
                break
            own_epoch, own_end = log.epochs.end_offset_for(leader_epoch, log.log_end_offset)
            if own_epoch == leader_epoch:
                self._cut(log, min(own_end, leader_end, log.log_end_offset))
                break
            # we never wrote in the epoch the leader names: drop our newer epochs, ask again
            self._cut(log, min(own_end, log.log_end_offset))
            log.epochs.truncate_after_epoch(own_epoch)
        # never past the leader's end (Kafka's OFFSET_OUT_OF_RANGE handling does the same)
        self._cut(log, min(log.log_end_offset, leader_log.log_end_offset))
        if log.log_end_offset < before:
            removed = before - log.log_end_offset
            self.cluster.events.emit(
                "replica.truncated", f"replica of {partition.name} on broker {follower} "
                f"truncated its log to offset {log.log_end_offset} ({removed} record(s) the "
                f"leader never had): its epoch {asked} ends there on leader "
                f"{partition.leader} (epoch {partition.leader_epoch})", topic=partition.topic,
                partition=partition.index, broker=follower, offset=log.log_end_offset,
                removed=removed)
        partition.synced_epoch[follower] = partition.leader_epoch

    @staticmethod
    def _cut(log, offset: int) -> None:
        if offset < log.log_end_offset:
            log.truncate_to(offset)

    # --- the ISR -------------------------------------------------------------------------------
    def _maybe_expand_isr(self, partition: Partition, follower: int) -> None:
        if follower in partition.isr or partition.leader is None:
            return
        if partition.follower_leo[follower] >= partition.high_watermark and \
                partition.follower_leo[follower] >= partition.leader_log.log_end_offset:
            self.cluster.controller.alter_isr(
                partition, partition.leader, partition.isr + [follower],
                f"broker {follower} caught up with the leader (log end offset "
                f"{partition.follower_leo[follower]})")

    def _check_lag(self, partition: Partition) -> None:
        """Drop followers that have not caught up for replica.lag.time.max.ms; look again
        later while any in-sync follower is still behind."""
        p = partition
        if p.leader is None or not self.cluster.brokers[p.leader].alive:
            return
        max_lag = self._config("replica.lag.time.max.ms")
        now = self.cluster.now_ms()
        lagging = [f for f in p.isr if f != p.leader
                   and now - p.last_caught_up_ms.get(f, now) > max_lag]
        if lagging:
            behind = ", ".join(f"broker {f} {now - p.last_caught_up_ms[f]} ms" for f in lagging)
            self.cluster.controller.alter_isr(
                p, p.leader, [b for b in p.isr if b not in lagging],
                f"{behind} behind > replica.lag.time.max.ms={max_lag}")
        leader_leo = p.leader_log.log_end_offset
        behind = [f for f in p.isr if f != p.leader and p.known_leo(f) < leader_leo]
        if behind:
            due = min(p.last_caught_up_ms.get(f, now) for f in behind) + max_lag + 1
            self._schedule_lag_check(p, max(due - now, 1))

    def on_leader_change(self, partition: Partition, old_leader: int | None) -> None:
        """New leader: it learns followers' progress afresh; requests waiting on the old leader
        fail (a produce with NotLeaderForPartitionError: the client retries on the new one)."""
        now = self.cluster.now_ms()
        partition.follower_leo = {}
        partition.last_caught_up_ms = {b: now for b in partition.replicas}
        if partition.leader is not None:
            partition.synced_epoch[partition.leader] = partition.leader_epoch
            partition.leader_log.epochs.assign(partition.leader_epoch,
                                               partition.leader_log.log_end_offset)
            for follower in partition.replicas:
                if follower != partition.leader:
                    self._schedule_fetch(partition, follower, self.cluster.network_latency_ms)
        if old_leader is not None:
            self.cluster.brokers[old_leader].complete_delayed_requests(partition.topic,
                                                                       partition.index)
        self.maybe_complete(partition)  # a leader alone in its ISR commits what it has at once

    # --- the high watermark --------------------------------------------------------------------
    def maybe_complete(self, partition: Partition) -> None:
        if not partition.maybe_advance_high_watermark():
            return
        # a moved high watermark answers the followers' waiting fetches (Kafka completes
        # delayed fetches on it), so their own high watermarks follow a round trip later
        hw = partition.high_watermark
        for follower, log in partition.logs.items():
            if follower != partition.leader and log.high_watermark < min(hw, log.log_end_offset):
                self._schedule_fetch(partition, follower, 2 * self.cluster.network_latency_ms)
        self.cluster.brokers[partition.leader].high_watermark_moved(partition.topic,
                                                                    partition.index)
