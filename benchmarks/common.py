"""Shared helpers of the benchmark scripts: data loading, metrics, report writing."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import platform
import re
import sys
from collections import defaultdict
from collections.abc import Hashable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
REPORT = REPO_ROOT / "docs" / "benchmarks.md"
SYSTEMS = ("HDFS", "Spark", "BGL", "Thunderbird", "Linux", "HealthApp", "Proxifier", "Mac")

sys.path.insert(0, str(REPO_ROOT / "src"))


def loghub_path(data: Path, system: str) -> Path:
    return data / "loghub2k" / f"{system}_2k.log_structured_corrected.csv"


def logchunks_path(data: Path) -> Path:
    return data / "logchunks" / "logchunks_dev.jsonl"


def data_available(data: Path) -> bool:
    return (
        all(loghub_path(data, system).is_file() for system in SYSTEMS)
        and logchunks_path(data).is_file()
    )


def load_loghub(data: Path, system: str) -> tuple[list[str], list[str]]:
    with loghub_path(data, system).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["Content"] for row in rows], [row["EventId"] for row in rows]


def load_logchunks(data: Path) -> dict[str, list[tuple[str, int]]]:
    """repo -> [(chunk, category)], repos sorted by name."""
    repo_to_chunks: dict[str, list[tuple[str, int]]] = defaultdict(list)
    with logchunks_path(data).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                repo_to_chunks[row["repo"]].append((row["chunk"], int(row["category"])))
    return dict(sorted(repo_to_chunks.items()))


def grouping_accuracy(
    predicted: Sequence[Hashable], truth: Sequence[Hashable]
) -> tuple[float, float]:
    """(GA, FGA) as defined in the data README."""
    predicted_groups: dict[Hashable, set[int]] = defaultdict(set)
    true_groups: dict[Hashable, set[int]] = defaultdict(set)
    for index, (label, true_label) in enumerate(zip(predicted, truth, strict=False)):
        predicted_groups[label].add(index)
        true_groups[true_label].add(index)
    true_sets = {frozenset(members) for members in true_groups.values()}
    exact = [members for members in predicted_groups.values() if frozenset(members) in true_sets]
    ga = sum(len(members) for members in exact) / max(1, len(predicted))
    precision = len(exact) / max(1, len(predicted_groups))
    recall = len(exact) / max(1, len(true_groups))
    fga = 2 * precision * recall / (precision + recall) if exact else 0.0
    return ga, fga


def machine_facts() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, AttributeError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def today() -> str:
    return dt.date.today().isoformat()


def write_section(name: str, body: str) -> None:
    """Replace the section between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# Benchmarks\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    REPORT.write_text(text, encoding="utf-8")


def halves(names: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Two fixed halves of ``names`` for cross-validation: alternate items, in the given
    order (``SYSTEMS`` as listed, LogChunks repositories sorted by name)."""
    return tuple(names[0::2]), tuple(names[1::2])


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")
