"""Per-class precision and recall of the categories, on labelled CI and agent error messages.

``benchmarks/data/category_messages.jsonl`` holds one realistic error message per line with its
true category (``unknown`` where none of the five fits: assertion failures, rate limits,
permission errors, git conflicts, crashes, ...), phrased as the tools themselves print them,
across Python, Node, Go, Rust, Java, C#, C/C++, Ruby, shell, Docker, Kubernetes and the agent.
Two pipelines are scored:

* **rules** — :func:`~error_analytics.rules.classify_error` on each message alone;
* **rules + model** — the whole set clustered with
  :func:`~error_analytics.clustering.cluster_messages`, each message taking its cluster's
  category (rules, inherited through the cluster, or the category model)::

    python benchmarks/categories.py              # prints the tables, updates docs/benchmarks.md
    python benchmarks/categories.py --no-write --show 20   # and the first 20 wrong answers

The set is **in-sample**: the same person wrote the messages and the rules, so these figures
are an upper bound for messages nobody tuned on.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from common import REPO_ROOT, today, write_section

from error_analytics.clustering import cluster_messages
from error_analytics.models import UNKNOWN_CATEGORY
from error_analytics.rules import ERROR_PATTERNS, classify_error

#: The same command's table on the code before context-aware rules, the new tool errors and the
#: calibrated abstention, kept for comparison.
BEFORE = """\
| category | true | rules P | rules R | rules+model P | rules+model R |
|---|---|---|---|---|---|
| syntax_error | 32 | 0.94 | 0.47 | 0.87 | 0.81 |
| import_error | 40 | 0.91 | 0.72 | 0.75 | 0.90 |
| type_error | 21 | 0.73 | 0.76 | 0.68 | 0.81 |
| connection_error | 30 | 0.94 | 0.57 | 0.88 | 0.77 |
| timeout_error | 20 | 0.95 | 0.95 | 0.95 | 1.00 |
| unknown | 84 | 0.61 | 0.86 | 0.74 | 0.68 |
| accuracy | 227 | **0.740** |  | **0.789** |  |
"""
DATA = REPO_ROOT / "benchmarks" / "data" / "category_messages.jsonl"
CLASSES = (*ERROR_PATTERNS, UNKNOWN_CATEGORY)


def load(path: Path) -> tuple[list[str], list[str]]:
    messages, truths = [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                messages.append(row["message"])
                truths.append(row["category"])
    return messages, truths


def rules_alone(messages: Sequence[str]) -> list[str]:
    return [classify_error(message) for message in messages]


def rules_and_model(messages: Sequence[str]) -> list[str]:
    result = cluster_messages(list(messages))
    cluster_to_category = {cluster.id: cluster.category for cluster in result.clusters}
    return [cluster_to_category[label] for label in result.labels]


def per_class(predicted: Sequence[str], truths: Sequence[str]) -> dict[str, tuple[float, float]]:
    """class -> (precision, recall); nan where the class was never predicted / never true."""
    pairs = Counter(zip(predicted, truths, strict=True))
    scores = {}
    for label in CLASSES:
        hits = pairs[(label, label)]
        said = sum(count for (p, _), count in pairs.items() if p == label)
        true = sum(count for (_, t), count in pairs.items() if t == label)
        scores[label] = (hits / said if said else float("nan"), hits / true if true else 0.0)
    return scores


def accuracy(predicted: Sequence[str], truths: Sequence[str]) -> float:
    return sum(p == t for p, t in zip(predicted, truths, strict=True)) / max(1, len(truths))


def table(runs: dict[str, list[str]], truths: Sequence[str]) -> str:
    names = list(runs)
    header = "| category | true | " + " | ".join(f"{n} P | {n} R" for n in names) + " |"
    lines = [header, "|---|---|" + "---|---|" * len(names)]
    scores = {name: per_class(predicted, truths) for name, predicted in runs.items()}
    true_counts = Counter(truths)
    for label in CLASSES:
        cells = []
        for name in names:
            precision, recall = scores[name][label]
            cells.append(f"{precision:.2f} | {recall:.2f}")
        lines.append(f"| {label} | {true_counts[label]} | " + " | ".join(cells) + " |")
    accuracies = " | ".join(f"**{accuracy(runs[n], truths):.3f}** | " for n in names)
    lines.append(f"| accuracy | {len(truths)} | {accuracies} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="labelled messages (JSON lines)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--show", type=int, default=0, help="print this many wrong answers")
    args = parser.parse_args(argv)
    messages, truths = load(args.data)
    runs = {"rules": rules_alone(messages), "rules+model": rules_and_model(messages)}
    report = table(runs, truths)
    print(report)
    for name, predicted in runs.items():
        wrong = [(t, p, m) for m, t, p in zip(messages, truths, predicted, strict=True) if p != t]
        print(f"\n{name}: {len(wrong)} wrong of {len(truths)}")
        for truth, said, message in wrong[: args.show]:
            print(f"  true {truth:<16} said {said:<16} {message.splitlines()[0][:90]}")
    if not args.no_write:
        unknown_share = Counter(truths)[UNKNOWN_CATEGORY] / len(truths)
        body = "\n".join(
            [
                "## Categories: per-class precision and recall",
                "",
                f"`python benchmarks/categories.py` ({today()}) on "
                f"`benchmarks/data/category_messages.jsonl`: {len(truths)} CI and agent error "
                f"messages across {len({*_ecosystems(args.data)})} ecosystems, "
                f"{unknown_share:.0%} of them truly `unknown`. *rules*: "
                "`classify_error` on each message; *rules+model*: the set clustered with "
                "`cluster_messages`, each message taking its cluster's category. P = precision "
                "(nan: never said), R = recall.",
                "",
                report,
                "",
                "Before context-aware rules, the new tool errors and the model's calibrated "
                "abstention (the same command on the code of 2026-11-30, recorded):",
                "",
                BEFORE.rstrip(),
                "",
                "**In-sample.** The messages and the rules were written by the same person, "
                "from the tools' documented wording, so these figures are an upper bound; the "
                "figures that count are on messages nobody tuned on (0.877 category accuracy "
                "was measured on unseen real CI messages before this work). The model's "
                "threshold is not tuned on this set: it is calibrated once, by "
                "cross-validation on the model's seed corpus, for a held-out precision of 0.9 "
                "with 40% of unknown messages assumed (the share measured on unseen "
                "messages), see `clustering/categorize.py`. The wrong answers are listed by "
                "`python benchmarks/categories.py --no-write --show 10`.",
            ]
        )
        write_section("categories", body)
    return 0


def _ecosystems(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["ecosystem"] for line in handle if line.strip()]


if __name__ == "__main__":
    raise SystemExit(main())
