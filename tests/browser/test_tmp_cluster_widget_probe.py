import json, re, time
from pathlib import Path
import pytest

SOURCE = (
    "import kafkalab\n"
    "from kafkalab.viz.cluster_widget import ClusterWidget\n"
    "cluster = kafkalab.Cluster(brokers=3, seed=0)\n"
    "cluster.create_topic('critical-events', partitions=6, replication_factor=3)\n"
    "w = ClusterWidget(cluster, 'critical-events', acks=1, rate=100)\n"
    "w"
)


@pytest.mark.browser
def test_probe(jupyter_lab, lab_page, tmp_path):
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "w", "metadata": {},
                     "outputs": [], "source": SOURCE}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                      "name": "python3"}, "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (jupyter_lab.root / "_probe.ipynb").write_text(json.dumps(nb))
    page = lab_page
    idle = page.locator(".jp-StatusBar-TextItem", has_text="| Idle")
    page.goto(f"{jupyter_lab.url}/lab/tree/_probe.ipynb")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell")
    idle.wait_for()
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    grid = page.locator(".widget-html .kafkalab-cluster-grid")
    grid.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    header = page.locator(".widget-html").filter(has_text="simulated").first
    t0 = header.text_content()
    page.locator("button.jupyter-button", has_text=re.compile(r"^\s*Run\s*$")).first.click()
    time.sleep(4)
    t1 = header.text_content()
    kills = page.locator("button.jupyter-button", has_text=re.compile(r"^\s*Kill\s*$"))
    kills.nth(1).click()
    time.sleep(4)
    page.locator("button.jupyter-button", has_text=re.compile(r"^\s*Pause\s*$")).first.click()
    time.sleep(1)
    t2 = header.text_content()
    roles = page.evaluate("() => [...document.querySelectorAll('.widget-html .kafkalab-replica')].map(c => c.dataset.role + c.dataset.broker)")
    ys = page.evaluate("() => { const gd = document.querySelector('.js-plotly-plot'); return gd && gd.data ? gd.data.map(d => (d.y || []).length) : null; }")
    page.screenshot(path="/tmp/probe.png", full_page=True)
    print("\nT0", t0[:160]); print("T1", t1[:160]); print("T2", t2[:160]); print("roles", roles); print("ys", ys)
    print("errors", page.errors[-5:])
