"""Notebook 02b read the way a learner reads it after Run All: every number the prose quotes is the
one its cells showed (DESIGN §4), and the transaction widget, driven headless through its buttons
on private clusters, draws what the engine holds (markers, LSO, the coordinator's state).

The notebook tests read the outputs of one papermill run (``executed_notebook``); the widget
tests build their own clusters and compare the widget with fresh consumers.
"""
from __future__ import annotations

import itertools
import re

import pytest

from notebook_text import (code_cell, flat, live_widget_cells, prose_after, shown_html,
                           shown_text, table)

from kafkalab import KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.course.lesson02b import read_all, shop_cluster
from kafkalab.viz.transaction_blocks import PartitionRow, partition_rows_html, visible
from kafkalab.viz.transaction_widget import TransactionWidget

NOTEBOOK = "02b-transactions.ipynb"
SHOP = ["orders", "inventory", "payments"]
_ports = itertools.count(58392, 10)  # private clusters: never localhost:9092
ROW = re.compile(r"data-partition='([\w-]+)' data-lso='(\d+)' data-hw='(\d+)' data-leo='(\d+)' "
                 r"data-read-committed='(\d+)' data-read-uncommitted='(\d+)'")


@pytest.fixture(scope="module")
def nb(executed_notebook):
    return executed_notebook(NOTEBOOK)


def drawn_rows(html: str) -> dict[str, tuple[int, ...]]:
    """partition -> (LSO, HW, LEO, read_committed count, read_uncommitted count) as drawn."""
    return {name: tuple(map(int, rest)) for name, *rest in ROW.findall(html)}


# --- the notebook ---------------------------------------------------------------------------
def test_the_lessons_code_as_printed_aborts_on_its_dicts_and_writes_nothing(nb):
    shown = shown_text(code_cell(nb, "t_lesson = cluster.now_ms()"))
    assert shown.startswith("Transaction aborted: The record value must be bytes"), shown
    assert "got dict" in shown
    after = shown_text(code_cell(nb, "print({topic: len(cluster.records(topic))"))
    assert "{'orders': 0, 'inventory': 0, 'payments': 0}" in after
    assert re.search(r"my-transactional-id\s+\d\s+0\s+0\s+Empty", after), after
    assert "`TypeError`" in prose_after(nb, "t_lesson = cluster.now_ms()")


def test_kafkalab_raises_the_type_error_the_prose_names():
    cluster = shop_cluster(port=next(_ports))
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             transactional_id="t", enable_idempotence=True)
    producer.init_transactions()
    producer.begin_transaction()
    with pytest.raises(TypeError):
        producer.send("orders", value={"order_id": "1"})


def test_the_fixed_version_commits_and_each_partition_gets_a_commit_marker(nb):
    assert shown_text(code_cell(nb, "t_fixed = cluster.now_ms()")).startswith(
        "Transaction committed")
    shown = shown_text(code_cell(nb, "show_events(cluster, t_fixed)"))
    assert "epoch 1: epoch 0 and older are fenced" in shown
    assert "now includes inventory-0, orders-0, payments-0" in shown
    assert "PrepareCommit" in shown and "CompleteCommit" in shown
    table = shown_text(code_cell(nb, "pd.concat({topic: cluster.records(topic)"))
    assert table.count("COMMIT marker") == 3 and table.count("committed") == 3
    rows = drawn_rows(shown_html(code_cell(nb, "the lesson's transaction, committed")))
    assert rows == {f"{t}-0": (2, 2, 2, 1, 1) for t in SHOP}, rows
    assert "LSO = HW = 2 in every partition" in flat(prose_after(
        nb, "the lesson's transaction, committed"))


def test_the_aborted_order_is_read_only_by_read_uncommitted(nb):
    shown = shown_text(code_cell(nb, "checkout.begin_transaction()  # order 2"))
    assert "Transaction aborted: card declined" in shown
    assert "PrepareAbort" in shown and "markers go to 2 partition(s)" in shown
    rows = table(code_cell(nb, "readers_side_by_side(shop, SHOP)"))
    seen = {(r["topic"], r["transaction"]): (r["read_committed"], r["read_uncommitted"])
            for r in rows}
    assert seen == {(t, "committed"): ("✔", "✔") for t in SHOP} | {
        ("orders", "aborted"): ("—", "✔"), ("inventory", "aborted"): ("—", "✔")}, rows
    assert len(rows) == 5
    drawn = drawn_rows(shown_html(code_cell(nb, '"order 2 aborted"')))
    assert drawn["orders-0"] == (4, 4, 4, 1, 2) and drawn["payments-0"] == (2, 2, 2, 1, 1)


def test_an_open_transaction_holds_read_committed_at_the_lso(nb):
    shown = shown_text(code_cell(nb, "checkout.begin_transaction()  # order 3"))
    assert "read_committed: read offsets [0]; position 4, end offset 4, lag 0" in shown
    assert "read_uncommitted: read offsets [0, 2, 4, 5, 6]; position 7, end offset 7" in shown
    assert "orders-0: LSO 4, HW 7, LEO 7" in shown
    prose = flat(prose_after(nb, "checkout.begin_transaction()  # order 3"))
    assert "stopped at offset 4" in prose and "offsets 5 and 6" in prose
    assert "lag is 0 while it is three records behind" in prose
    rows = drawn_rows(shown_html(code_cell(nb, '"order 3 open"')))
    assert rows["orders-0"] == (4, 7, 7, 1, 5)
    after = shown_text(code_cell(nb, "stuck = readers['read_committed']"))
    assert "read_committed now reads offsets [4, 5, 6]" in after and "LSO 8, HW 8" in after


def test_the_zombie_is_fenced_by_the_new_epoch(nb):
    shown = shown_text(code_cell(nb, "old = KafkaProducer("))
    first, second = shown.split("2. a new instance")
    assert re.search(r"order-service\s+0\s+0\s+Ongoing\s+orders-0", first), first
    assert re.search(r"order-service\s+0\s+2\s+Empty", second), second
    assert "Same producer id, 0, and a new epoch: 2" in flat(prose_after(nb, "old = KafkaProducer("))
    zombie = shown_text(code_cell(nb, "old.commit_transaction()"))
    assert "zombie commit_transaction(): ProducerFencedError" in zombie
    assert "zombie send(): KafkaError" in zombie
    assert "txn.fenced" in zombie and "ABORT marker" in zombie and '"7"' in zombie
    assert '"8"' not in zombie, "the zombie's order 8 is never written"


def test_the_coordinator_aborts_the_crashed_producers_transaction_after_the_timeout(nb):
    shown = shown_text(code_cell(nb, "crash.faults.crash_producer(doomed)"))
    states = re.findall(r"t = 0 d (\S+): coordinator state (\w+)\s.*payments-0 LSO (\d+), HW (\d+)",
                        shown)
    assert [s[1] for s in states] == ["Ongoing", "Ongoing", "Ongoing", "CompleteAbort"], states
    assert [s[2] for s in states] == ["0", "0", "0", "2"]
    timed_out = re.search(r"t = 0 d (\S+)\s+txn.timed_out", shown)
    assert timed_out and timed_out.group(1).startswith("00:01:10"), shown
    assert "transaction.timeout.ms=60000" in shown


def test_the_playground_is_live_on_its_own_cluster_and_its_story_reads_true(nb):
    live = code_cell(nb, "play = TransactionWidget(")
    assert "port=39292" in live.source and live_widget_cells(nb) == [live]
    story = code_cell(nb, "play.zombie_commit()")
    shown = shown_text(story)
    assert "✖ zombie commit_transaction(): ProducerFencedError" in shown
    rows = drawn_rows(shown_html(story))
    assert {name: r[3:] for name, r in rows.items()} == {f"{t}-0": (1, 3) for t in SHOP}
    assert "`read_committed` counts 1 record per partition" in flat(prose_after(
        nb, "play.zombie_commit()"))
    assert "data-epoch='2'" in shown_html(story)


def test_offsets_in_the_transaction_make_the_crash_harmless(nb):
    shown = shown_text(code_cell(nb, "runs = {"))
    assert re.search(r"confirmations read \(read_committed\)\s+12\s+16", shown), shown
    assert "confirmed-5, confirmed-6, confirmed-7" in shown
    assert "four confirmations twice" in flat(prose_after(nb, "runs = {"))


def test_twenty_seeds_duplicate_without_transactions_and_never_with(nb):
    shown = shown_text(code_cell(nb, "exactly_once_table(range(20))"))
    match = re.search(r"without transactions (\d+) - with transactions (\d+)", shown)
    assert match and int(match.group(1)) > 0 and match.group(2) == "0", shown
    [answer] = [flat(c.source) for c in nb.cells
                if c.cell_type == "markdown" and "## 10. Self-check question 8" in c.source]
    for part in ("idempotent producer", "send_offsets_to_transaction", "read_committed",
                 "side effect outside Kafka"):
        assert part in answer


def test_the_notebook_shows_simulated_time_as_a_clock(nb):
    assert "t = 0 d 00:01:10" in shown_text(code_cell(nb, "crash.faults.crash_producer(doomed)"))
    assert "ms" not in re.findall(r"t = 0 d [\d:.]+(\s*\w*)", shown_text(
        code_cell(nb, "show_events(cluster, t_fixed)")))


# --- the widget, headless -------------------------------------------------------------------
def widget(**options) -> TransactionWidget:
    cluster = shop_cluster(port=next(_ports))
    return TransactionWidget(cluster, SHOP, transactional_id="shop", **options)


def consumers_read(w: TransactionWidget, level: str) -> dict[str, list[int]]:
    got = {f"{t}-0": [] for t in SHOP}
    for topic, offset, _ in read_all(w.cluster, SHOP, level):
        got[f"{topic}-0"].append(offset)
    return got


def press(w: TransactionWidget, *labels: str) -> None:
    for label in labels:
        w.buttons[label].click()


def test_commit_writes_markers_and_the_counts_match_real_consumers():
    w = widget()
    press(w, "begin", "send", "send")
    assert w.coordinator()["state"] == "Ongoing"
    assert {r.name: r.last_stable_offset for r in w.rows()} == {f"{t}-0": 0 for t in SHOP}
    assert w.seen("read_committed") == consumers_read(w, "read_committed") == {
        f"{t}-0": [] for t in SHOP}
    press(w, "commit")
    assert w.message.startswith("✔ commit_transaction()")
    assert w.coordinator()["state"] == "CompleteCommit"
    for row in w.rows():
        assert [s for _, s, _ in row.records] == ["committed", "committed", "COMMIT marker"]
        assert row.last_stable_offset == row.high_watermark == 3
    for level in ("read_committed", "read_uncommitted"):
        assert w.seen(level) == consumers_read(w, level) == {f"{t}-0": [0, 1] for t in SHOP}
    assert drawn_rows(w.static_html())["orders-0"] == (3, 3, 3, 2, 2)
    kinds = [e[1] for e in w.events]
    assert kinds[-3:] == ["txn.partitions_added", "txn.prepare", "txn.complete"], kinds


def test_abort_leaves_the_records_for_read_uncommitted_only():
    w = widget()
    press(w, "begin", "send", "abort")
    assert w.coordinator()["state"] == "CompleteAbort"
    assert w.seen("read_committed") == consumers_read(w, "read_committed") == {
        f"{t}-0": [] for t in SHOP}
    assert w.seen("read_uncommitted") == consumers_read(w, "read_uncommitted") == {
        f"{t}-0": [0] for t in SHOP}
    assert "data-status='ABORT marker'" in w.static_html()
    assert "text-decoration:line-through" in w.static_html()


def test_a_new_instance_fences_the_zombie_whose_commit_and_send_fail():
    w = widget()
    press(w, "begin", "send", "new instance")
    assert w.coordinator()["producer_epoch"] == 2 and w.coordinator()["state"] == "Empty"
    assert {s for r in w.rows() for _, s, _ in r.records} == {"aborted", "ABORT marker"}
    markers = [b for b in w.cluster.partition("orders", 0).leader_log.batches() if b.is_control]
    assert [b.producer_epoch for b in markers] == [1], "the abort is written at the bumped epoch"
    assert not w.zombie_commit()
    assert "ProducerFencedError" in w.message and w.message.startswith("✖")
    press(w, "zombie send")
    assert w.message.startswith("✖ zombie send(): KafkaError")
    assert [e[1] for e in w.events].count("txn.fenced") == 1
    assert "zombie (instance fenced): <b>FATAL_ERROR" in w.static_html()
    assert w.begin() and w.send() and w.commit(), w.message  # the new instance works on
    assert w.seen("read_committed") == consumers_read(w, "read_committed")


def test_a_crashed_producers_transaction_holds_the_lso_until_the_timeout():
    w = widget(transaction_timeout_ms=20_000)
    press(w, "begin", "send", "crash producer")
    before = {r.name: r.last_stable_offset for r in w.rows()}
    w.run(ms=15_000)
    assert {r.name: r.last_stable_offset for r in w.rows()} == before == {
        f"{t}-0": 0 for t in SHOP}
    assert w.coordinator()["state"] == "Ongoing"
    assert not w.begin() and "crashed" in w.message  # a dead instance does nothing
    press(w, "+ transaction.timeout.ms")
    assert w.coordinator()["state"] == "CompleteAbort"
    assert all(r.last_stable_offset == r.high_watermark == 2 for r in w.rows())
    kinds = [e[1] for e in w.events]
    assert "fault.producer_crashed" in kinds and "txn.timed_out" in kinds
    assert "txn.timed_out" in w.static_html()


def test_client_errors_show_in_the_message_line_never_as_exceptions():
    w = widget()
    assert not w.commit()  # no transaction begun
    assert w.message.startswith("✖ commit_transaction()")
    assert not w.zombie_commit() and "no zombie yet" in w.message
    assert "kafkalab-txn-message" in w.static_html()


def test_the_widget_ignores_other_transactional_ids():
    w = widget()
    other = KafkaProducer(bootstrap_servers=w.cluster.bootstrap_servers,
                          transactional_id="someone-else")
    other.init_transactions()
    other.begin_transaction()
    other.send("orders", b"x")
    other.commit_transaction()
    w.run(ms=100)
    assert all("someone-else" not in e[2] for e in w.events)
    assert w.coordinator()["transactional_id"] == "shop"
    assert [s for _, s, _ in w.rows()[0].records] == ["committed", "COMMIT marker"]


def test_visible_follows_the_isolation_rules():
    row = PartitionRow("t-0", ((0, "", "a"), (1, "committed", "b"), (2, "COMMIT marker", ""),
                               (3, "aborted", "c"), (4, "ABORT marker", ""), (5, "open", "d"),
                               (6, "", "e")), last_stable_offset=5, high_watermark=7,
                       log_end_offset=7)
    assert visible(row, "read_committed") == [0, 1]
    assert visible(row, "read_uncommitted") == [0, 1, 3, 5, 6]
    with pytest.raises(ValueError):
        visible(row, "serializable")
    html = partition_rows_html([row])
    assert drawn_rows(html) == {"t-0": (5, 7, 7, 2, 5)}
    lso_cell = re.search(r"data-offset='5'.*?</span></span>", html).group(0)
    assert "▲LSO" in lso_cell


def test_an_unknown_topic_is_refused():
    from kafkalab.errors import UnknownTopicOrPartitionError

    cluster = shop_cluster(port=next(_ports))
    with pytest.raises(UnknownTopicOrPartitionError):
        TransactionWidget(cluster, ["orders", "nope"])


def test_read_all_agrees_with_a_plain_consumer():
    cluster = shop_cluster(port=next(_ports))
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    producer.send("orders", b"x", partition=0)
    producer.flush()
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=500)
    consumer.assign([TopicPartition("orders", 0)])
    assert [r.offset for r in consumer] == [o for _, o, _ in read_all(cluster, ["orders"])]
