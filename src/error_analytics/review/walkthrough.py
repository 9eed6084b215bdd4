"""The interactive review (``analyze-errors --review``): one new cluster at a time.

Each cluster is shown with its evidence; a one-letter answer acts on it. Writes pass the
version that was shown, so a change someone else made meanwhile is reported (and the cluster
shown again) instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TextIO

from ..errors import ConflictError, InputError, NotFoundError
from ..models import UNKNOWN_CATEGORY, ClusterStatus, DiscoveredCluster
from .render import cluster_lines, short
from .service import ClusterReviewService

MENU = "[a]ccept  [r]ename  [c]ategory  [m]erge into…  [i]gnore  [s]kip  [q]uit  [?]help"
HELP = """\
  a  accept: keep the cluster as it is (status reviewed)
  r  rename it (and mark it reviewed)
  c  set its category (and mark it reviewed)
  m  merge it into another cluster: its errors, past and future, go there
  i  ignore it: forever, until a date, or for N more occurrences
  s  skip: leave it new for later
  q  quit"""


class Walkthrough:
    """Prompts on ``out``, answers from ``answers`` (a terminal or any text stream)."""

    def __init__(
        self,
        service: ClusterReviewService,
        out: TextIO,
        answers: TextIO,
        actor: str,
        *,
        days: int = 30,
    ) -> None:
        """``days``: the window whose errors the figures count."""
        self.service = service
        self.days = days
        self.out = out
        self.answers = answers
        self.actor = actor
        self.done: dict[str, int] = {}

    def ask(self, prompt: str) -> str | None:
        self.out.write(prompt)
        self.out.flush()
        line = self.answers.readline()
        if not line:
            self.out.write("\n")
            return None
        return line.strip()

    def run(self) -> int:
        queue = self.service.list_clusters(
            status=ClusterStatus.NEW, limit=1000, days=self.days
        ).items
        if not queue:
            self.out.write("No new clusters to review.\n")
            return 0
        self.out.write(f"{len(queue)} new clusters to review, largest first.\n")
        for number, cluster in enumerate(queue, start=1):
            if not self._review(number, len(queue), cluster):
                break
        summary = (
            ", ".join(f"{count} {action}" for action, count in self.done.items())
            or "nothing changed"
        )
        self.out.write(f"Review finished: {summary}.\n")
        return 0

    def _review(self, number: int, total: int, cluster: DiscoveredCluster) -> bool:
        """Handle one cluster; False to stop."""
        while True:
            try:
                cluster = self.service.cluster(cluster.id, self.days)
            except NotFoundError:
                return True
            if cluster.status != ClusterStatus.NEW:
                self.out.write(f"[{number}/{total}] {cluster.id} is {cluster.status} now; next.\n")
                return True
            self.out.write(
                f"\n[{number}/{total}] " + "\n".join(cluster_lines(cluster, examples=2)) + "\n"
            )
            if len(cluster.templates) > 1:
                self.out.write(
                    f"  {len(cluster.templates)} templates: "
                    + " | ".join(short(t, 50) for t in cluster.templates[:3])
                    + "\n"
                )
            answer = self.ask(f"{MENU}\n> ")
            if answer is None or answer.lower() in ("q", "quit"):
                return False
            choice = answer[:1].lower()
            if choice in ("s", ""):
                self._count("skipped")
                return True
            if choice == "?":
                self.out.write(HELP + "\n")
                continue
            action = self._actions().get(choice)
            if action is None:
                self.out.write(f"Unknown answer {answer!r}.\n{HELP}\n")
                continue
            try:
                if action(cluster):
                    return True
            except ConflictError as exc:
                self.out.write(f"Not saved: {exc}\n")
            except (InputError, NotFoundError) as exc:
                self.out.write(f"Not saved: {exc}\n")

    def _actions(self) -> dict[str, Callable[[DiscoveredCluster], bool]]:
        return {
            "a": self._accept,
            "r": self._rename,
            "c": self._category,
            "m": self._merge,
            "i": self._ignore,
        }

    def _count(self, action: str) -> None:
        self.done[action] = self.done.get(action, 0) + 1

    def _accept(self, cluster: DiscoveredCluster) -> bool:
        self.service.accept(cluster.id, actor=self.actor, expected_version=cluster.version)
        self._count("accepted")
        return True

    def _rename(self, cluster: DiscoveredCluster) -> bool:
        name = self.ask("New name (empty to cancel): ")
        if not name:
            return False
        self.service.rename(cluster.id, name, actor=self.actor, expected_version=cluster.version)
        self._count("renamed")
        return True

    def _category(self, cluster: DiscoveredCluster) -> bool:
        keys = [*self.service.analytics.rules.categories, UNKNOWN_CATEGORY]
        self.out.write(
            "  " + "  ".join(f"{index}) {key}" for index, key in enumerate(keys, start=1)) + "\n"
        )
        answer = self.ask("Category (number or key, empty to cancel): ")
        if not answer:
            return False
        key = (
            keys[int(answer) - 1] if answer.isdigit() and 1 <= int(answer) <= len(keys) else answer
        )
        self.service.set_category(
            cluster.id, key, actor=self.actor, expected_version=cluster.version
        )
        self._count("categorised")
        return True

    def _merge(self, cluster: DiscoveredCluster) -> bool:
        others = [
            c
            for c in self.service.list_clusters(limit=200, days=self.days).items
            if c.id != cluster.id
        ]
        for other in others[:10]:
            self.out.write(
                f"  {other.id}  {other.status:<9} {other.size:>4} errors  {short(other.name, 60)}\n"
            )
        target = self.ask("Merge into cluster id (empty to cancel): ")
        if not target:
            return False
        self.service.merge([cluster.id], target, actor=self.actor)
        self._count("merged")
        return True

    def _ignore(self, cluster: DiscoveredCluster) -> bool:
        answer = self.ask("Ignore [f]orever, until a [d]ate, or for [n] more occurrences? ")
        if not answer:
            return False
        if answer[0].lower() == "d":
            text = self.ask("Until (YYYY-MM-DD): ") or ""
            try:
                until = date.fromisoformat(text)
            except ValueError:
                raise InputError(f"not a date: {text!r}") from None
            self.service.ignore(
                cluster.id, actor=self.actor, until=until, expected_version=cluster.version
            )
        elif answer[0].lower() == "n":
            text = self.ask("How many more occurrences: ") or ""
            if not text.isdigit():
                raise InputError(f"not a number: {text!r}")
            self.service.ignore(
                cluster.id,
                actor=self.actor,
                occurrences=int(text),
                expected_version=cluster.version,
            )
        else:
            self.service.ignore(cluster.id, actor=self.actor, expected_version=cluster.version)
        self._count("ignored")
        return True
