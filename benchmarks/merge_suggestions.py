"""How often the review's merge suggestions point at the right cluster, on LogChunks.

Per repository the chunks are clustered with ``cluster_messages``; every resulting cluster then
asks for its most similar other clusters with the function the review service uses
(:class:`error_analytics.review.similar.SimilarityIndex`, the cluster's text built by
``cluster_text`` from its templates and examples). A cluster's *true category* is the most
common ``category`` among its chunks. A cluster *should merge* when another cluster of the same
repository has the same true category (a perfect grouping would join them); its top suggestion
is *right* when the suggested cluster has that category.

- **hit rate**: of the clusters that should merge, the share whose top suggestion is right
  (no suggestion counts as a miss). Target ≥ 0.6.
- **false suggestion rate**: of the clusters that should not merge, the share that gets a
  suggestion at all.

The TF-IDF weight and the threshold (``TFIDF_WEIGHT``, ``MIN_SIMILARITY``) are chosen by two-fold
cross-validation: the repositories, sorted by name, are split alternately into two halves; the
setting that maximises hit rate minus false suggestion rate on one half is reported on the
other, both ways::

    python benchmarks/merge_suggestions.py              # prints, and writes docs/benchmarks.md
    python benchmarks/merge_suggestions.py --no-write   # prints only

Skips (exit 0, with a note) when ``../shared/data`` (or ``--data DIR``) is absent.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter
from pathlib import Path

from common import DEFAULT_DATA, load_logchunks, logchunks_path, machine_facts, today, write_section

from error_analytics.clustering import cluster_messages
from error_analytics.review import similar
from error_analytics.review.similar import SimilarityIndex, cluster_text

THRESHOLDS = [round(0.20 + 0.05 * step, 2) for step in range(11)]  # 0.20 .. 0.70
WEIGHTS = (0.3, 0.5, 0.7)  # TF-IDF weight in the combined similarity


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """One predicted cluster: should it merge, and its top suggestion (any similarity)."""

    should_merge: bool
    top_similarity: float | None  # None: no other cluster shares a word
    top_right: bool
    chance: float  # of the other clusters, the share with its category (a random pick)


@dataclasses.dataclass(frozen=True, slots=True)
class RepoClusters:
    """One repository clustered: each cluster's text and majority true category."""

    items: list[tuple[str, str]]
    truth: dict[str, int]


def cluster_repo(chunks: list[tuple[str, int]]) -> RepoClusters:
    result = cluster_messages([chunk for chunk, _ in chunks])
    cluster_to_categories: dict[str, Counter[int]] = {}
    for label, (_, category) in zip(result.labels, chunks, strict=True):
        cluster_to_categories.setdefault(label, Counter())[category] += 1
    truth = {
        cluster_id: min(counts.items(), key=lambda item: (-item[1], item[0]))[0]
        for cluster_id, counts in cluster_to_categories.items()
    }
    items = [
        (cluster.id, cluster_text(cluster.templates or [cluster.template], cluster.examples))
        for cluster in result.clusters
    ]
    return RepoClusters(items, truth)


def outcomes_of(repo: RepoClusters, weight: float) -> list[Outcome]:
    index = SimilarityIndex(repo.items, tfidf_weight=weight)
    truth = repo.truth
    outcomes = []
    for cluster_id, _ in repo.items:
        others = [other for other in truth if other != cluster_id]
        same = sum(1 for other in others if truth[other] == truth[cluster_id])
        top = index.neighbours(cluster_id, limit=1, min_similarity=0.0)
        outcomes.append(
            Outcome(
                should_merge=same > 0,
                top_similarity=top[0].similarity if top else None,
                top_right=bool(top) and truth[top[0].item_id] == truth[cluster_id],
                chance=same / max(1, len(others)),
            )
        )
    return outcomes


def rates(outcomes: list[Outcome], threshold: float) -> tuple[float, float, int, int]:
    """(hit rate, false suggestion rate, clusters that should merge, clusters that should not)."""
    should = [o for o in outcomes if o.should_merge]
    should_not = [o for o in outcomes if not o.should_merge]

    def suggested(outcome: Outcome) -> bool:
        return outcome.top_similarity is not None and outcome.top_similarity >= threshold

    hits = sum(1 for o in should if suggested(o) and o.top_right)
    false = sum(1 for o in should_not if suggested(o))
    return hits / max(1, len(should)), false / max(1, len(should_not)), len(should), len(should_not)


def score(outcomes: list[Outcome], threshold: float) -> float:
    hit, false, _, _ = rates(outcomes, threshold)
    return hit - false


def best_setting(
    repos: list[str], weight_to_outcomes: dict[float, dict[str, list[Outcome]]]
) -> tuple[float, float]:
    """(weight, threshold) with the largest hit rate minus false suggestion rate over ``repos``
    (ties: the higher threshold, then the weight nearest 0.5)."""
    candidates = []
    for weight, repo_to_outcomes in weight_to_outcomes.items():
        outcomes = [o for repo in repos for o in repo_to_outcomes[repo]]
        for threshold in THRESHOLDS:
            key = (round(score(outcomes, threshold), 6), threshold, -abs(weight - 0.5))
            candidates.append((key, weight, threshold))
    _, weight, threshold = max(candidates)
    return weight, threshold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data directory")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not logchunks_path(args.data).is_file():
        print(f"skipped: {logchunks_path(args.data)} not found (give --data DIR)")
        return 0
    repo_to_chunks = load_logchunks(args.data)
    repos = list(repo_to_chunks)  # sorted by name
    repo_to_clusters = {repo: cluster_repo(repo_to_chunks[repo]) for repo in repos}
    weight_to_outcomes = {
        weight: {repo: outcomes_of(repo_to_clusters[repo], weight) for repo in repos}
        for weight in WEIGHTS
    }
    halves = (repos[0::2], repos[1::2])
    rows = []
    held_out: list[tuple[float, float, int, int]] = []
    for fold, (fit_half, report_half) in enumerate((halves, halves[::-1]), start=1):
        weight, threshold = best_setting(fit_half, weight_to_outcomes)
        report = [o for repo in report_half for o in weight_to_outcomes[weight][repo]]
        hit, false, should, should_not = rates(report, threshold)
        held_out.append((hit, false, should, should_not))
        rows.append(
            f"| {fold} | {len(fit_half)} repositories | {weight} | {threshold:.2f} "
            f"| {hit:.3f} ({should} clusters) | {false:.3f} ({should_not} clusters) |"
        )
    cv_hit = sum(h * n for h, _, n, _ in held_out) / max(1, sum(n for _, _, n, _ in held_out))
    cv_false = sum(f * n for _, f, _, n in held_out) / max(1, sum(n for _, _, _, n in held_out))
    shipped = [
        o for repo in repos for o in outcomes_of(repo_to_clusters[repo], similar.TFIDF_WEIGHT)
    ]
    in_hit, in_false, in_should, in_should_not = rates(shipped, similar.MIN_SIMILARITY)
    chance = sum(o.chance for o in shipped if o.should_merge) / max(1, in_should)
    in_weight, in_threshold = best_setting(repos, weight_to_outcomes)
    lines = [
        "## Merge suggestions",
        "",
        f"`python benchmarks/merge_suggestions.py` · {today()} · {machine_facts()}",
        "",
        f"LogChunks, {len(repos)} repositories, each clustered separately with `cluster_messages` "
        f"({len(shipped)} clusters; {in_should} should merge with another, {in_should_not} "
        "should not). Suggestions by `error_analytics.review.similar` (at most "
        f"{similar.MAX_SUGGESTIONS}). *Hit rate*: of the clusters that share their majority true "
        "category with another cluster of their repository, the share whose top suggestion has "
        "that category (target ≥ 0.6; a suggestion below the threshold counts as a miss). *False "
        "suggestion rate*: of the other clusters, the share that gets any suggestion. A random "
        f"other cluster of the repository would be right for {chance:.3f} of the clusters that "
        "should merge (the repositories have few clusters each).",
        "",
        "Cross-validated: repositories sorted by name, split alternately in two halves; the TF-IDF "
        f"weight ({', '.join(map(str, WEIGHTS))}) and threshold "
        f"({THRESHOLDS[0]:.2f}–{THRESHOLDS[-1]:.2f}, step 0.05) that maximise hit rate minus false "
        "suggestion rate on one half, reported on the other:",
        "",
        "| fold | fitted on | TF-IDF weight | threshold | hit rate (held out) "
        "| false suggestion rate (held out) |",
        "|---|---|---|---|---|---|",
        *rows,
        f"| both | | | | **{cv_hit:.3f}** | **{cv_false:.3f}** |",
        "",
        f"Shipped: `TFIDF_WEIGHT` = {similar.TFIDF_WEIGHT}, `MIN_SIMILARITY` = "
        f"{similar.MIN_SIMILARITY}; in sample (all repositories) hit rate {in_hit:.3f}, false "
        f"suggestion rate {in_false:.3f}. The in-sample best would be weight {in_weight}, "
        f"threshold {in_threshold:.2f}.",
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section("merge-suggestions", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
