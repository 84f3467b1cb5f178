"""A group member's offset commits and committed-offset fetches (kafka-python
ConsumerCoordinator's commit_offsets_sync/async and fetch_committed_offsets).

OffsetCommit and OffsetFetch go to the group coordinator through the member's
:class:`~.coordinator_link.CoordinatorLink`. :meth:`OffsetCommitter.commit` follows kafka-python
3's ``commit_offsets_sync``: retried through rediscovery until its timeout (default
``request_timeout_ms``, then ``KafkaTimeoutError``), acknowledged once the offsets partition
stored the commit. A member outside an active generation (never joined, or kicked out) cannot
commit (``CommitFailedError``); neither can one whose commit the coordinator refused because
the group rebalanced — that member rejoins at its next ``poll()``. A consumer with a group but
no subscription commits from outside the group (generation -1, no member id).
"""
from __future__ import annotations

from ..api.messages.groups import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
)
from ..errors import CommitFailedError, CoordinatorNotAvailableError, KafkaTimeoutError
from ..structs import OffsetAndMetadata, TopicPartition
from .coordinator_link import (
    GENERATION_ERRORS,
    CoordinatorLink,
    MemberPart,
    ServedMember,
    is_coordinator_error,
    response_error,
)


class OffsetCommitter(MemberPart):
    """Commits and fetches one member's group offsets.

    Invariants: requests go only to ``link.coordinator_id``; a commit as a member carries the
    member's id and generation of the moment it is sent; at most one OffsetFetch from a
    :meth:`fetch_committed` that gave up waiting is remembered, and waited for again by the
    next call for the same partitions to the same coordinator."""

    def __init__(self, member: ServedMember, link: CoordinatorLink):
        super().__init__(member, link)
        self._pending_fetch = None  # (partitions, [answer], node) of an OffsetFetch in flight

    def commit(self, offsets, timeout_ms: int | None = None, as_member: bool = True) -> None:
        """kafka-python 3's commit_offsets_sync: send OffsetCommit to the coordinator, and on a
        retriable error (coordinator moved or unavailable, no answer) find it again and retry
        after retry_backoff_ms, until ``timeout_ms`` (default request_timeout_ms) has passed
        (then ``KafkaTimeoutError``). A commit refused because of a rebalance ->
        ``CommitFailedError``. Returns once the offsets partition accepted the commit."""
        transport, link = self._transport, self._link
        if timeout_ms is None:
            timeout_ms = self._config["request_timeout_ms"]
        deadline = transport.now_ms() + timeout_ms
        while True:
            if as_member:
                self._check_can_commit()
            if link.ensure_coordinator(deadline):
                answer: list = []
                link.send(self._commit_request(offsets, as_member), answer.append,
                          link.coordinator_id)
                transport.wait_for(lambda: bool(answer),
                                   max(deadline - transport.now_ms(), 0))
                if answer:
                    refused = response_error(answer[0])
                    error = self._commit_failure(refused)
                    if error is None and refused is None:
                        return
                    if error is not None:
                        raise error from None
            remaining = deadline - transport.now_ms()
            if remaining <= 0:
                raise KafkaTimeoutError(
                    f"commit of group {self._member.group_id} was not acknowledged within "
                    f"{timeout_ms} ms: its coordinator could not be reached or could not store "
                    "it (the commit may or may not have been stored)")
            transport.wait_for(lambda: False, min(self._config["retry_backoff_ms"], remaining))

    def commit_async(self, offsets, on_done, as_member: bool = True) -> None:
        """kafka-python's commit_offsets_async: one OffsetCommit (after a FindCoordinator if
        the coordinator is unknown), no retry; ``on_done(error_or_None)`` when answered."""
        link = self._link
        try:
            if as_member:
                self._check_can_commit()
        except CommitFailedError as error:
            refused = error  # (``error`` is unbound once the except block ends)
            self._transport.call_later(0, lambda: on_done(refused))
            return

        def send() -> None:
            if link.coordinator_id is None:
                on_done(CoordinatorNotAvailableError(
                    f"no coordinator known for group {self._member.group_id}"))
                return
            link.send(self._commit_request(offsets, as_member), lambda answer: on_done(
                self._commit_failure(response_error(answer), raise_retriable=True)),
                link.coordinator_id)

        if link.coordinator_id is not None:
            send()
            return

        def found(answer) -> None:
            error = response_error(answer)
            send() if error is None else on_done(error)
        link.lookup(found)

    def _commit_request(self, offsets: dict[TopicPartition, OffsetAndMetadata],
                        as_member: bool) -> OffsetCommitRequest:
        """An OffsetCommit of ``offsets``: as this member of its generation, or from outside
        the group (generation -1, no member id: a standalone consumer)."""
        member = self._member
        topics: dict[str, list[OffsetCommitRequestPartition]] = {}
        for tp, om in sorted(offsets.items()):  # the same request whatever the hash seed
            topics.setdefault(tp.topic, []).append(OffsetCommitRequestPartition(
                tp.partition, om.offset, om.leader_epoch, om.metadata))
        return OffsetCommitRequest(
            member.group_id, tuple(OffsetCommitRequestTopic(t, tuple(ps))
                                   for t, ps in topics.items()),
            member.generation if as_member else -1, member.member_id if as_member else "",
            member.instance_id if as_member else None)

    def _check_can_commit(self) -> None:
        member = self._member
        if not member.member_id or member.generation < 0:
            # as Kafka's consumer: a subscribed consumer outside an active generation (never
            # joined, or kicked out) cannot commit — its partitions may belong to another member
            raise CommitFailedError(
                "Offset commit cannot be completed since the consumer is not part of an active "
                f"group for auto partition assignment (group {member.group_id}); it is likely "
                "that the consumer was kicked out of the group (session_timeout_ms or "
                "max_poll_interval_ms expired). poll() rejoins the group")

    def _commit_failure(self, error: Exception | None, raise_retriable: bool = False
                        ) -> Exception | None:
        """kafka-python's _handle_offset_commit_response: the error to give the caller, or
        None for success or a retriable error (the coordinator is marked dead if it moved)."""
        if error is None:
            return None
        if is_coordinator_error(error):
            self._link.coordinator_dead(error)
            return error if raise_retriable else None
        if getattr(error, "retriable", False):  # e.g. CoordinatorLoadInProgress
            return error if raise_retriable else None
        if isinstance(error, GENERATION_ERRORS):
            self._member.reset_generation(error)
            return CommitFailedError(
                "Commit cannot be completed since the group has already rebalanced and "
                f"assigned the partitions to another member ({error}). poll() rejoins the "
                "group; the uncommitted records will be read again by whoever owns them")
        return error

    def fetch_committed(self, partitions, timeout_ms: int | None = None) -> dict:
        """kafka-python's fetch_committed_offsets: OffsetFetch from the coordinator, retried
        through rediscovery until ``timeout_ms`` (default request_timeout_ms), then
        ``KafkaTimeoutError``."""
        transport, link = self._transport, self._link
        if timeout_ms is None:
            timeout_ms = self._config["request_timeout_ms"]
        deadline = transport.now_ms() + timeout_ms
        wanted = frozenset(partitions)
        while True:
            if link.ensure_coordinator(deadline):
                # as kafka-python, a request still in flight from an earlier call (a poll
                # with a short timeout) is waited for again rather than sent anew
                pending = self._pending_fetch
                if pending is None or pending[0] != wanted or pending[2] != link.coordinator_id:
                    pending = self._pending_fetch = (wanted, [], link.coordinator_id)
                    # as kafka-python, a read_committed consumer asks for stable offsets only
                    # (KIP-447): an offset in an undecided transaction answers
                    # UNSTABLE_OFFSET_COMMIT (retriable) until the transaction ends
                    stable = self._config.get("isolation_level") == "read_committed"
                    link.send(_fetch_request(self._member.group_id, wanted, stable),
                              pending[1].append,
                              link.coordinator_id)
                answer = pending[1]
                transport.wait_for(lambda: bool(answer),
                                   max(deadline - transport.now_ms(), 0))
                if answer:
                    self._pending_fetch = None
                    error = response_error(answer[0])
                    if error is None:
                        return _committed(answer[0])
                    if is_coordinator_error(error):
                        link.coordinator_dead(error)
                    elif not getattr(error, "retriable", False):
                        raise error
            remaining = deadline - transport.now_ms()
            if remaining <= 0:
                raise KafkaTimeoutError(
                    f"the committed offsets of group {self._member.group_id} could not be "
                    f"fetched within {timeout_ms} ms: its coordinator could not be reached")
            transport.wait_for(lambda: False, min(self._config["retry_backoff_ms"], remaining))


def _fetch_request(group_id: str, partitions, require_stable: bool = False
                   ) -> OffsetFetchRequest:
    topics: dict[str, list[int]] = {}
    for tp in sorted(partitions):
        topics.setdefault(tp.topic, []).append(tp.partition)
    return OffsetFetchRequest(group_id, tuple(OffsetFetchRequestTopic(t, tuple(ps))
                                              for t, ps in topics.items()), require_stable)


def _committed(response) -> dict[TopicPartition, OffsetAndMetadata]:
    """The committed offsets of an OffsetFetch response (-1: none for that partition)."""
    return {TopicPartition(t.name, p.partition_index): OffsetAndMetadata(
        p.committed_offset, p.metadata or "", p.committed_leader_epoch)
        for t in response.topics for p in t.partitions if p.committed_offset >= 0}
