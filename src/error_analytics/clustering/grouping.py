"""Template grouping: exact signatures first, then positional merging of near-identical ones.

Stage 1 groups messages whose masked text has the same *signature* (placeholders made
generic, see :func:`signature_tokens`). Stage 2 (:func:`positional_merge`) merges signatures
of the same length that differ in exactly one position, when that position is evidently a
variable: at least ``min_variants`` distinct signatures share everything else, or one of
them already has a placeholder there. This is how a value that no mask recognises (a user
name, a service name, a test name) becomes ``<*>`` — decided by the data, not by a rule.

Guards keep the merge precise (measured on Loghub-2k and LogChunks, cross-validated, see
docs/benchmarks.md): the first token is not merged when it is a plain word, punctuation
aside (it names the component, action or exception type: ``KeyError:``, as in Drain's tree);
words of a closed vocabulary (HTTP methods, log levels, lifecycle states such as
``Paused`` / ``Resumed``, :data:`CLOSED_VOCABULARY`) name different events and are never
merged; and ``key=value`` tokens are decided per key from the data (:func:`variable_keys`):
a key that takes many distinct values across the input is a variable (``user=<*>``), one
that takes a few is a state (``status=open`` / ``status=closed``). Dotted names are decided
the same way, keyed by their namespace and their domain: ``org.apache.hadoop.*`` naming many
classes makes each of them ``<*>``, ``android.intent.action.*`` naming two states does not.

Stage 3 (:func:`align_placeholders`) aligns signatures token by token with their
placeholders set aside, so an extra or collapsed ``<*>`` does not keep apart two messages
whose constant words are the same, in the same order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from error_analytics.clustering.masker import WILDCARD

#: Tokens that are an empty value: ``connection from x () at ...``.
_EMPTY_VALUES = frozenset({"()", "[]", "{}", '""', "''", "<>"})
_ALNUM = re.compile(r"[A-Za-z0-9]")
_PUNCTUATION = "()[]{}<>:;,.!?'\"`|#*"
#: Signatures longer than this (in tokens) are not considered for positional merging.
MAX_MERGE_TOKENS = 64


def signature_tokens(generic: str) -> list[str]:
    """Tokens of a signature: a token made of placeholders and punctuation only becomes
    ``<*>``, an empty bracket pair is an empty value (``<*>``), runs of ``<*>`` collapse."""
    tokens: list[str] = []
    for token in generic.split():
        if (
            token in _EMPTY_VALUES
            or WILDCARD in token
            and token != WILDCARD
            and not _ALNUM.search(token.replace(WILDCARD, ""))
        ):
            token = WILDCARD
        if token == WILDCARD and tokens and tokens[-1] == WILDCARD:
            continue
        tokens.append(token)
    return tokens


class UnionFind:
    """Disjoint sets over ``0..n-1``; the root of a set is its smallest member."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, first: int, second: int) -> None:
        first, second = self.find(first), self.find(second)
        if first != second:
            self.parent[max(first, second)] = min(first, second)

    def roots(self) -> list[int]:
        return [self.find(item) for item in range(len(self.parent))]

    def groups(self) -> dict[int, list[int]]:
        """root -> its members in increasing order, roots in order of first member."""
        root_members: dict[int, list[int]] = {}
        for item in range(len(self.parent)):
            root_members.setdefault(self.find(item), []).append(item)
        return root_members


#: A first token that names an exception type, possibly dotted
#: (``requests.exceptions.ConnectionError:``): never merged with another type.
_EXCEPTION_TYPE = re.compile(
    r"(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Warning|Failure|Fault):"
)
#: A signature made of a traceback's exception line and its location
#: (``KeyError: <*> | File <*> line <*> in main``): the exception decides the group.
_TRACEBACK_LOCATION_TAIL = re.compile(r" \| File [^|]{1,600}? line <\*>,?(?: in [^ |]{1,256})?$")


def group_key(signature: str) -> str:
    """The part of a signature that decides its group: a Python traceback's exception line
    without the location it was raised at (where it was raised does not make it another
    error, as in Sentry's grouping by exception type and value); else the signature."""
    if " | File " not in signature:
        return signature
    match = _TRACEBACK_LOCATION_TAIL.search(signature)
    return signature[: match.start()] if match and match.start() > 0 else signature


#: Closed vocabularies: words that name *which* event happened, not a value of it (HTTP
#: methods, log levels, lifecycle states). A position where they differ is never merged.
CLOSED_VOCABULARY = frozenset(
    "GET HEAD POST PUT DELETE PATCH OPTIONS CONNECT TRACE "
    "DEBUG INFO NOTICE WARN WARNING ERROR SEVERE FATAL CRITICAL ALERT EMERG "
    "START STARTED STARTING STOP STOPPED STOPPING PAUSE PAUSED PAUSING RESUME RESUMED "
    "RESUMING RUNNING RESTART RESTARTED RESTARTING CREATE CREATED DESTROY DESTROYED "
    "OPEN OPENED CLOSE CLOSED ENABLE ENABLED DISABLE DISABLED CONNECTED DISCONNECTED "
    "SUSPEND SUSPENDED SUCCEEDED FAILED PENDING CANCELLED CANCELED TERMINATED "
    "ADDED REMOVED ACCEPTED REJECTED UP DOWN ON OFF".split()
)
_KEY = re.compile(r"[A-Za-z_][\w.-]{0,63}")


def closed_word(token: str) -> bool:
    """Whether ``token`` (punctuation aside) belongs to a :data:`CLOSED_VOCABULARY`."""
    return token.strip(_PUNCTUATION).upper() in CLOSED_VOCABULARY


def _key_of(token: str) -> str | None:
    key, equals, _ = token.partition("=")
    return key if equals and _KEY.fullmatch(key) else None


#: A dotted name: identifiers joined by dots (``org.apache.hadoop.Foo``, ``com.example.Job$2``,
#: ``worker-3.pool.internal``), brackets and a trailing colon or comma aside. Numbers and
#: versions (``1.2.3``) are not names: each part starts with a letter, ``_`` or ``$``.
_DOTTED_NAME = re.compile(
    r"[(\[<\"'`]?([A-Za-z_$][\w$-]{0,127}(?:\.[A-Za-z_$][\w$-]{0,127}){1,31})[)\]>\"'`]?[:,;]?"
)


def _name_keys(token: str) -> tuple[str, str] | None:
    """The two *keys* of a dotted name, as a ``key=value`` token has one: its namespace
    (every part but the last, ``org.apache.hadoop.*``) and its domain (every part but the
    first, ``*.pool.internal``). ``None`` for any other token."""
    if "." not in token or "=" in token:
        return None
    match = _DOTTED_NAME.fullmatch(token)
    if match is None:
        return None
    name = match.group(1)
    return name[: name.rindex(".") + 1] + "*", "*" + name[name.index(".") :]


def variable_keys(signatures: Sequence[list[str]], *, min_values: int) -> frozenset[str]:
    """Keys whose value is a variable, decided from the data: the key takes at least
    ``min_values`` distinct values across ``signatures`` (a few values are states that name
    different events: ``status=open`` / ``status=closed``, ``action.SCREEN_ON`` /
    ``action.SCREEN_OFF``, ``rpc.statd`` / ``rpc.idmapd``).

    Two kinds of key: the key of a ``key=value`` token (``user``), and the namespace or
    domain of a dotted name (:func:`_name_keys`: ``org.apache.hadoop.*`` whose classes vary,
    ``*.pool.internal`` whose hosts vary)."""
    key_to_values: dict[str, set[str]] = defaultdict(set)
    for tokens in signatures:
        for token in tokens:
            if "=" in token:
                if (key := _key_of(token)) is not None:
                    key_to_values[key].add(token)
            elif "." in token and (name_keys := _name_keys(token)) is not None:
                for name_key in name_keys:
                    key_to_values[name_key].add(token)
    return frozenset(key for key, values in key_to_values.items() if len(values) >= min_values)


def generalise_keys(tokens: list[str], keys: frozenset[str]) -> list[str]:
    """``tokens`` with the value of every key in ``keys`` made ``<*>`` (``user=<*>``; a
    dotted name of a variable namespace or domain becomes ``<*>`` as a whole)."""
    if not keys:
        return tokens
    general = []
    for token in tokens:
        if "=" in token:
            if (key := _key_of(token)) is not None and key in keys:
                token = f"{key}={WILDCARD}"
        elif "." in token and (name_keys := _name_keys(token)) is not None:
            if name_keys[0] in keys or name_keys[1] in keys:
                token = WILDCARD
        general.append(token)
    return general


def _mergeable(token: str, position: int) -> bool:
    if token == WILDCARD:
        return False
    if "=" in token or closed_word(token):
        return False
    return not (
        position == 0 and (token.strip(_PUNCTUATION).isalpha() or _EXCEPTION_TYPE.fullmatch(token))
    )


def positional_merge(signatures: Sequence[list[str]], *, min_variants: int = 3) -> list[int]:
    """For each signature (as tokens), the index of the representative of its merged group.

    Cost is linear in the total number of tokens: every signature is keyed once per
    position (``prefix, <hole>, suffix``) and signatures sharing a key are candidates.
    """
    # A key is (prefix, suffix) around the hole, each an interned id of its token sequence
    # (a trie node): equal ids mean equal token sequences, and no string is built per position.
    prefix_trie: dict[tuple[int, str], int] = {}
    suffix_trie: dict[tuple[int, str], int] = {}
    # key -> its one member, or the list of its members once it has two (most keys have one
    # member: a list for each would be garbage-collector work for nothing)
    key_to_members: dict[tuple[int, int, int], int | list[int]] = {}
    member_of = key_to_members.setdefault
    holes: list[tuple[int, tuple[int, int, int]]] = []
    prefix_node = prefix_trie.setdefault
    suffix_node = suffix_trie.setdefault
    for index, tokens in enumerate(signatures):
        size = len(tokens)
        if size < 2 or size > MAX_MERGE_TOKENS:
            continue
        suffixes = [0] * size
        node = 0
        for position in range(size - 1, 0, -1):
            node = suffix_node((node, tokens[position]), len(suffix_trie) + 1)
            suffixes[position - 1] = node
        node = 0
        for position, token, suffix in zip(range(size), tokens, suffixes, strict=False):
            key = (position, node, suffix)
            if token == WILDCARD:
                holes.append((index, key))
            elif "=" not in token and not closed_word(token) and (position or _mergeable(token, 0)):
                found = member_of(key, index)
                if isinstance(found, list):
                    found.append(index)
                elif found != index:  # a signature has each key once: a second member
                    key_to_members[key] = [found, index]
            node = prefix_node((node, token), len(prefix_trie) + 1)
    key_to_holes: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for index, key in holes:
        if key in key_to_members:
            key_to_holes[key].append(index)
    union_find = UnionFind(len(signatures))
    for key, found in key_to_members.items():
        members = found if isinstance(found, list) else [found]
        with_holes = members + key_to_holes.get(key, [])
        if len(with_holes) < 2:
            continue
        if len(members) < min_variants and key not in key_to_holes:
            continue
        position = key[0]
        first = signatures[with_holes[0]]
        if all(token == WILDCARD for i, token in enumerate(first) if i != position):
            continue  # nothing constant would remain
        for other in with_holes[1:]:
            union_find.union(with_holes[0], other)
    return union_find.roots()


def align_placeholders(signatures: Sequence[list[str]], roots: list[int]) -> list[int]:
    """``roots`` (a representative per signature) with signatures merged that align token
    for token once their placeholders are set aside: the same constant tokens in the same
    order, so an extra, missing or collapsed ``<*>`` (``took <*> ms`` / ``took <*> <*> ms``
    after a value printed in two words) does not keep them apart. At least two constant
    tokens must remain, one of them holding a letter."""
    union_find = UnionFind(len(signatures))
    for index, root in enumerate(roots):
        union_find.union(index, root)
    skeleton_first: dict[tuple[str, ...], int] = {}
    for index, tokens in enumerate(signatures):
        if len(tokens) > MAX_MERGE_TOKENS:
            continue
        skeleton = tuple(token for token in tokens if token != WILDCARD)
        if len(skeleton) < 2 or not any(_ALPHA.search(token) for token in skeleton):
            continue
        union_find.union(skeleton_first.setdefault(skeleton, index), index)
    return union_find.roots()


_ALPHA = re.compile(r"[A-Za-z]")


def _hole_key(tokens: list[str], position: int) -> str:
    return " ".join(tokens[:position]) + " \x00 " + " ".join(tokens[position + 1 :])


class SignatureIndex:
    """Finds the cluster of a new signature: an exact known signature, or one that differs
    from known ones in a single position that is already variable within one cluster (two or
    more known signatures, or a ``<*>``, at that position, all in the same cluster)."""

    def __init__(self, signatures: Sequence[str], cluster_ids: Sequence[str]) -> None:
        self._exact = dict(zip(signatures, cluster_ids, strict=False))
        # hole key -> its one cluster id (None once a second cluster has it), and its weight:
        # no container per key for the garbage collector to scan
        key_to_id: dict[str, str | None] = {}
        key_weight: dict[str, int] = defaultdict(int)
        for signature, identifier in zip(signatures, cluster_ids, strict=False):
            tokens = signature.split(" ")
            if len(tokens) < 2 or len(tokens) > MAX_MERGE_TOKENS:
                continue
            for position, token in enumerate(tokens):
                key = _hole_key(tokens, position)
                if key_to_id.setdefault(key, identifier) != identifier:
                    key_to_id[key] = None
                key_weight[key] += 2 if token == WILDCARD else 1
        self._holes = {
            key: identifier
            for key, identifier in key_to_id.items()
            if identifier is not None and key_weight[key] >= 2
        }

    def lookup(self, signature: str) -> str | None:
        found = self._exact.get(signature)
        if found is not None:
            return found
        tokens = signature.split(" ")
        if len(tokens) < 2 or len(tokens) > MAX_MERGE_TOKENS:
            return None
        candidates = {self._holes.get(_hole_key(tokens, p)) for p in range(len(tokens))} - {None}
        return candidates.pop() if len(candidates) == 1 else None
