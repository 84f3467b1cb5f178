"""Every control of every course widget explains itself: a Button or ToggleButton with no tooltip
shows the literal text ``null`` when the learner hovers over it in JupyterLab."""
from __future__ import annotations

import itertools

import ipywidgets as widgets
import pytest

from kafkalab import Cluster, KafkaConsumer, TopicPartition

_ports = itertools.count(59092, 10)  # private clusters: never localhost:9092


def buttons(root) -> list:
    """Every Button and ToggleButton under ``root`` (a widget box), depth first."""
    found, todo = [], [root]
    while todo:
        w = todo.pop()
        if isinstance(w, (widgets.Button, widgets.ToggleButton)):
            found.append(w)
        todo.extend(getattr(w, "children", ()))
    return found


def cluster(brokers=1):
    return Cluster(brokers=brokers, seed=0, port=next(_ports))


def partition_log():
    from kafkalab.viz.partition_log import PartitionLogWidget

    c = cluster()
    c.create_topic("orders", partitions=3)
    return PartitionLogWidget(c, "orders")


def queue_vs_log():
    from kafkalab.viz.queue_vs_log import ClassicQueue, QueueVsLogWidget

    c = cluster()
    c.create_topic("payments", partitions=1)
    reader = KafkaConsumer(bootstrap_servers=c.bootstrap_servers)
    reader.assign([TopicPartition("payments", 0)])
    return QueueVsLogWidget(c, "payments", ClassicQueue("payments"), readers={"r": reader})


def group():
    from kafkalab.viz.group_widget import ConsumerGroupWidget

    c = cluster()
    c.create_topic("orders", partitions=3)
    return ConsumerGroupWidget(c, "orders", "g", animate=False)


def cluster_widget():
    from kafkalab.viz.cluster_widget import ClusterWidget

    c = cluster(brokers=3)
    c.create_topic("events", partitions=3, replication_factor=3)
    return ClusterWidget(c, "events", animate=False)


def segment_widget():
    from kafkalab.viz.segment_widget import SegmentWidget

    c = cluster()
    c.create_topic("orders", partitions=1)
    return SegmentWidget(c, "orders", animate=False)


def transaction_widget():
    from kafkalab.viz.transaction_widget import TransactionWidget

    c = cluster(brokers=3)
    for topic in ("orders", "inventory", "payments"):
        c.create_topic(topic, partitions=1, replication_factor=3)
    return TransactionWidget(c)


def producer_lab():
    from kafkalab.viz.producer_views import ProducerLabWidget

    return ProducerLabWidget(records=20)


@pytest.mark.parametrize("make", [partition_log, queue_vs_log, group, cluster_widget,
                                  segment_widget, transaction_widget, producer_lab])
def test_every_button_has_a_tooltip(make):
    view = make()
    found = buttons(view.box)
    assert found, "the widget has buttons"
    missing = [b.description for b in found if not b.tooltip]
    assert not missing, f"no tooltip (JupyterLab shows 'null'): {missing}"
    for toggle in (b for b in found if isinstance(b, widgets.ToggleButton)):
        before = toggle.tooltip
        toggle.value = True  # its description changes, and so does the tooltip
        toggle.value = False
        assert toggle.tooltip == before
