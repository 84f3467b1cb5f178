"""`make bench` still runs: benchmarks/bench.py --quick exits 0 and prints its ratio lines.

Speed is never asserted here (DESIGN §5) — only that the benchmark works.
"""
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


def test_bench_quick_runs_and_prints_ratios():
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--runs", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for phase in ("produce", "consume"):
        for peer in ("mockafka", "floor"):
            assert f"{phase} ratio kafkalab/{peer}:" in result.stdout, result.stdout
    assert "transactional produce ratio transactions/none:" in result.stdout, result.stdout
    assert "compaction ratio kafkalab/floor:" in result.stdout, result.stdout
    assert "compaction linearity" in result.stdout, result.stdout
