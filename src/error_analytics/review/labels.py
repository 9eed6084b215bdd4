"""Reviewed categories as training labels for mapping new clusters onto categories.

A template is labelled when a person decided its cluster's category: set it explicitly
(``category_source == "review"``) or accepted the cluster with a category other than
``unknown``. A refresh gives a new cluster whose category no keyword rule decided the
category most supported by the labelled templates nearest to its own templates
(:meth:`~.matching.TemplateIndex.vote`), marked ``decided_by="review"``. The clusterer's
category model has no hook for extra labels, so the vote is applied here, after it.
"""

from __future__ import annotations

from ..models import UNKNOWN_CATEGORY, ClusterStatus, DecidedBy
from ..store.state import StateTransaction
from .models import LabelledTemplate


def labelled_templates(tx: StateTransaction) -> list[LabelledTemplate]:
    """(template, category) pairs that people decided, ordered by template."""
    id_to_record = {
        record.id: record
        for record in tx.clusters().values()
        if record.status != ClusterStatus.MERGED
        and record.category != UNKNOWN_CATEGORY
        and (record.category_source == DecidedBy.REVIEW or record.reviewed_at is not None)
    }
    labels = [
        LabelledTemplate(
            template=template.template,
            category=id_to_record[template.cluster_id].category,
            cluster_id=template.cluster_id,
        )
        for template in tx.templates().values()
        if template.cluster_id in id_to_record
    ]
    return sorted(labels, key=lambda label: (label.template, label.cluster_id))
