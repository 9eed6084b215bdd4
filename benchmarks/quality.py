"""Grouping quality on Loghub-2k (8 systems) and LogChunks (per repository), beside Drain3.

    python benchmarks/quality.py [--data DIR] [--no-write] [--verbose]

Default configuration of both tools. Results go to the "quality" section of
docs/benchmarks.md. Exits 0 with a message when the data directory is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from common import (
    DEFAULT_DATA,
    SYSTEMS,
    data_available,
    grouping_accuracy,
    load_logchunks,
    load_loghub,
    machine_facts,
    today,
    write_section,
)


def ours(messages: list[str]) -> list[str]:
    from error_analytics.clustering import cluster_messages

    return cluster_messages(messages).labels


def drain3_labels(messages: list[str]) -> list[int]:
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.profiling_enabled = False
    miner = TemplateMiner(config=config)
    return [miner.add_log_message(message)["cluster_id"] for message in messages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark data directory")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--verbose", action="store_true", help="per-repository LogChunks scores")
    args = parser.parse_args(argv)
    if not data_available(args.data):
        print(f"benchmark data not found under {args.data}; skipping")
        return 0
    try:
        import drain3 as _drain3  # noqa: F401
    except ImportError:
        drain3_available = False
    else:
        drain3_available = True

    rows, our_ga, drain_ga = [], [], []
    started = time.perf_counter()
    for system in SYSTEMS:
        messages, truth = load_loghub(args.data, system)
        ga, fga = grouping_accuracy(ours(messages), truth)
        d_ga, d_fga = (
            grouping_accuracy(drain3_labels(messages), truth)
            if drain3_available
            else (float("nan"),) * 2
        )
        our_ga.append(ga)
        drain_ga.append(d_ga)
        rows.append(f"| {system} | {ga:.3f} | {fga:.3f} | {d_ga:.3f} | {d_fga:.3f} |")
        print(f"{system:12s} GA {ga:.3f} FGA {fga:.3f}   Drain3 GA {d_ga:.3f} FGA {d_fga:.3f}")
    mean_ga, mean_drain = sum(our_ga) / len(our_ga), sum(drain_ga) / len(drain_ga)
    print(f"{'mean':12s} GA {mean_ga:.3f}   Drain3 GA {mean_drain:.3f}")

    repo_scores, drain_repo_scores = [], []
    for repo, chunks in load_logchunks(args.data).items():
        messages = [chunk for chunk, _ in chunks]
        truth = [category for _, category in chunks]
        ga, _ = grouping_accuracy(ours(messages), truth)
        d_ga, _ = (
            grouping_accuracy(drain3_labels(messages), truth)
            if drain3_available
            else (float("nan"), 0)
        )
        repo_scores.append(ga)
        drain_repo_scores.append(d_ga)
        if args.verbose:
            print(f"  {repo:35s} GA {ga:.2f}  Drain3 {d_ga:.2f}")
    lc_mean = sum(repo_scores) / len(repo_scores)
    lc_drain = sum(drain_repo_scores) / len(drain_repo_scores)
    print(f"LogChunks per-repository mean GA {lc_mean:.3f}   Drain3 {lc_drain:.3f}")
    elapsed = time.perf_counter() - started

    if not args.no_write:
        body = "\n".join(
            [
                "## Quality (grouping accuracy)",
                "",
                (
                    f"Command: `python benchmarks/quality.py` — {today()}, {machine_facts()}; "
                    f"both tools in their default configuration, same run ({elapsed:.0f} s)."
                ),
                "",
                "Loghub-2k (message = `Content`, truth = `EventId`):",
                "",
                "| System | GA | FGA | Drain3 GA | Drain3 FGA |",
                "|---|---|---|---|---|",
                *rows,
                f"| **mean** | **{mean_ga:.3f}** | | **{mean_drain:.3f}** | |",
                "",
                (
                    f"LogChunks (each repository clustered separately, message = `chunk`, truth = "
                    f"`category`): mean per-repository GA **{lc_mean:.3f}** (Drain3 {lc_drain:.3f}, "
                    f"{len(repo_scores)} repositories)."
                ),
            ]
        )
        write_section("quality", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
