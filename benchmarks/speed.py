"""Throughput and peak memory on a mixed stream, this toolkit beside Drain3, plus scaling.

    python benchmarks/speed.py [--data DIR] [--sizes 10000,100000,200000,1000000]
                               [--compare 200000] [--drain3-max 1000000] [--no-write]

The stream mixes the 16,000 Loghub-2k lines and the 399 LogChunks chunks (each cut to its
first 2,000 characters), shuffled, repeated with every number changed between copies (so
copies are new strings, not repetitions). Every measurement runs in a fresh subprocess that
builds the stream, records its RSS, clusters, and reports the elapsed time and peak RSS
(``ru_maxrss``, which includes the input list). Results go to the "speed" section of
docs/benchmarks.md. Exits 0 with a message when the data directory is absent.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import (
    DEFAULT_DATA,
    SYSTEMS,
    data_available,
    load_logchunks,
    load_loghub,
    machine_facts,
    today,
    write_section,
)

CHUNK_CHARS = 2_000
_DIGITS = re.compile(r"\d+")


def build_stream(data: Path, size: int, seed: int = 7) -> list[str]:
    base: list[str] = []
    for system in SYSTEMS:
        base.extend(load_loghub(data, system)[0])
    for chunks in load_logchunks(data).values():
        base.extend(chunk[:CHUNK_CHARS] for chunk, _ in chunks)
    rng = random.Random(seed)
    rng.shuffle(base)
    stream: list[str] = []
    copy = 0
    while len(stream) < size:
        if copy == 0:
            stream.extend(base[: size - len(stream)])
        else:

            def vary(match: re.Match[str], copy: int = copy) -> str:
                digits = match.group(0)
                value = (int(digits[:9]) * 7 + copy * 7919 + rng.randrange(1000)) % (
                    10 ** min(9, len(digits))
                )
                return str(value)

            for message in base[: size - len(stream)]:
                stream.append(_DIGITS.sub(vary, message))
        copy += 1
    return stream


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(tool: str, data: Path, size: int) -> dict[str, float]:
    stream = build_stream(data, size)
    baseline = rss_mb()
    if tool == "ours":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
        from error_analytics.clustering import ErrorClusterer

        started = time.perf_counter()
        clusterer = ErrorClusterer().fit(stream)
        elapsed = time.perf_counter() - started
        clusters = clusterer.n_clusters_
    else:
        from drain3 import TemplateMiner
        from drain3.template_miner_config import TemplateMinerConfig

        config = TemplateMinerConfig()
        config.profiling_enabled = False
        started = time.perf_counter()
        miner = TemplateMiner(config=config)
        for message in stream:
            miner.add_log_message(message)
        elapsed = time.perf_counter() - started
        clusters = len(miner.drain.clusters)
    return {
        "tool": tool,
        "size": size,
        "seconds": elapsed,
        "per_second": size / elapsed,
        "peak_rss_mb": rss_mb(),
        "input_rss_mb": baseline,
        "clusters": clusters,
    }


def measure(tool: str, data: Path, size: int) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        tool,
        "--data",
        str(data),
        "--sizes",
        str(size),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    print(
        f"{tool:6s} {size:>9,} messages: {result['seconds']:7.2f} s, {result['per_second']:>9,.0f} msg/s, "
        f"peak RSS {result['peak_rss_mb']:,.0f} MB (input alone {result['input_rss_mb']:,.0f} MB), "
        f"{result['clusters']} clusters",
        flush=True,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark data directory")
    parser.add_argument(
        "--sizes", default="10000,100000,200000,1000000", help="stream sizes to time"
    )
    parser.add_argument("--compare", type=int, default=200_000, help="size of the head-to-head run")
    parser.add_argument(
        "--drain3-max", type=int, default=1_000_000, help="largest size run with Drain3"
    )
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--worker", choices=("ours", "drain3"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not data_available(args.data):
        print(f"benchmark data not found under {args.data}; skipping")
        return 0
    if args.worker:
        print(json.dumps(worker(args.worker, args.data, int(args.sizes))))
        return 0
    sizes = sorted({int(size) for size in args.sizes.split(",")} | {args.compare})
    try:
        import drain3  # noqa: F401
    except ImportError:
        print("drain3 is not installed (pip install drain3); timing this toolkit only")
        with_drain3 = False
    else:
        with_drain3 = True

    results: dict[tuple[str, int], dict[str, float]] = {}
    for size in sizes:
        results[("ours", size)] = measure("ours", args.data, size)
        if with_drain3 and size <= args.drain3_max:
            results[("drain3", size)] = measure("drain3", args.data, size)
    if args.no_write:
        return 0
    lines = [
        "## Speed and memory",
        "",
        (
            f"Command: `python benchmarks/speed.py` — {today()}, {machine_facts()}. One fresh "
            "subprocess per measurement; peak memory is the process's peak RSS (`ru_maxrss`), "
            "which includes the input list itself (shown separately)."
        ),
        "",
    ]
    compare = args.compare
    if with_drain3 and ("drain3", compare) in results:
        ours, theirs = results[("ours", compare)], results[("drain3", compare)]
        ratio = ours["per_second"] / theirs["per_second"]
        lines += [
            (
                f"Head to head on the same {compare:,}-message stream: **{ours['per_second']:,.0f} msg/s** "
                f"vs Drain3 {theirs['per_second']:,.0f} msg/s — **{ratio:.1f}×**; peak RSS "
                f"{ours['peak_rss_mb']:,.0f} MB vs {theirs['peak_rss_mb']:,.0f} MB."
            ),
            "",
        ]
    lines += [
        (
            "| Tool | Messages | Seconds | Messages/s | × Drain3 | Peak RSS (MB) | Input alone (MB) "
            "| Clusters |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for (tool, size), result in sorted(
        results.items(), key=lambda item: (item[0][1], item[0][0] != "ours")
    ):
        name = "error-analytics" if tool == "ours" else "Drain3 (default config)"
        theirs = results.get(("drain3", size))
        ratio = (
            f"{result['per_second'] / theirs['per_second']:.1f}×"
            if tool == "ours" and theirs is not None
            else ""
        )
        lines.append(
            f"| {name} | {size:,} | {result['seconds']:.2f} | {result['per_second']:,.0f} | "
            f"{ratio} | {result['peak_rss_mb']:,.0f} | {result['input_rss_mb']:,.0f} | "
            f"{result['clusters']:,} |"
        )
    write_section("speed", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
