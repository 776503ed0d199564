"""Revision trees, kept the way CouchDB keeps them (a pure module: no I/O).

Every document has a history of revisions.  A revision is named ``N-hash``:
``N`` is its generation (its depth in the history, 1 for the first edit) and
``hash`` identifies the content.  Two replicas that edit the same revision
while apart grow two children of it, so a history is a tree, not a list.

A worked example.  Replica one writes ``1-a`` and then ``2-b``; replica two
only ever saw ``1-a`` and writes ``2-c``.  Each sends its history as a path::

    one:  1-a -> 2-b
    two:  1-a -> 2-c

Merging the two paths gives ``1-a -> (2-b | 2-c)``: the tree now has two
leaves, one of which wins (``winner``) and the other is a conflict.  This is
how conflicts are introduced.  A path that only extends a leaf (``2-b ->
3-d``) adds no leaf; a path that is already known changes nothing.

Histories are also *stemmed*: only the newest ``revs_limit`` revisions of
each path are kept, so an old root may be cut away.  A forest of such
stemmed trees is therefore a tuple of branches, each starting at some
generation ``pos``::

    Tree = (Branch(pos=1, root=Node("a", children=(Node("b"), Node("c")))),)

The shapes are frozen dataclasses; every function returns a new tree and
never changes its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Iterator


@dataclass(frozen=True, slots=True)
class Node:
    """One revision: its hash, whether it is a deletion, and its children."""

    rev: str
    deleted: bool = False
    children: tuple["Node", ...] = ()


@dataclass(frozen=True, slots=True)
class Branch:
    """A tree of revisions whose root is at generation ``pos``."""

    pos: int
    root: Node


Tree = tuple[Branch, ...]
EMPTY: Tree = ()


@dataclass(frozen=True, slots=True)
class Leaf:
    """A leaf revision and the hashes on its path, newest first."""

    pos: int
    rev: str
    deleted: bool
    path: tuple[str, ...]

    @property
    def rev_id(self) -> str:
        return f"{self.pos}-{self.rev}"


class MergeResult(str, Enum):
    """What a merge did, as CouchDB's ``couch_key_tree:merge`` labels it."""

    NEW_LEAF = "new_leaf"  # the path extended a leaf (or started an empty tree)
    NEW_BRANCH = "new_branch"  # the path made a new leaf beside others: a conflict
    INTERNAL_NODE = "internal_node"  # every revision of the path was known


DEFAULT_REVS_LIMIT = 1000


# -- building -----------------------------------------------------------------


def path_branch(pos: int, revs: Iterable[str], deleted: bool = False) -> Branch:
    """A linear branch from a leaf at generation ``pos`` and its history.

    ``revs`` is newest first, as in a document's ``_revisions.ids``; only the
    leaf carries ``deleted``.
    """
    revs = list(revs)
    if not revs:
        raise ValueError("a path needs at least one revision")
    node = Node(revs[0], deleted)
    for rev in revs[1:]:
        node = Node(rev, False, (node,))
    return Branch(pos - len(revs) + 1, node)


# -- merging ------------------------------------------------------------------


def merge(tree: Tree, incoming: Branch | Tree) -> tuple[Tree, MergeResult]:
    """Merge a path (or a whole tree) into ``tree``; see the module docstring."""
    branches = (incoming,) if isinstance(incoming, Branch) else tuple(incoming)
    merged = tree
    for branch in branches:
        merged = _merge_branch(merged, branch)
    return merged, _label(tree, merged)


def _merge_branch(tree: Tree, incoming: Branch) -> Tree:
    # Branches of a valid tree never share a revision, so one pass suffices:
    # the incoming branch absorbs every branch it overlaps (a long path can
    # join two branches that stemming had separated).
    rest: list[Branch] = []
    current = incoming
    for branch in tree:
        joined = _join(branch, current)
        if joined is None:
            rest.append(branch)
        else:
            current = joined
    rest.append(current)
    return _sorted(rest)


def _join(a: Branch, b: Branch) -> Branch | None:
    """The union of two branches if they share a revision, else None."""
    if a.pos > b.pos:
        a, b = b, a
    # Case: same generation at the root; they overlap only if the roots match.
    if a.pos == b.pos:
        if a.root.rev != b.root.rev:
            return None
        return Branch(a.pos, _merge_nodes(a.root, b.root))
    # Case: b starts deeper; graft b onto the node of a with b's root revision.
    grafted = _graft(a.root, b.pos - a.pos, b.root)
    return None if grafted is None else Branch(a.pos, grafted)


def _graft(node: Node, depth: int, other: Node) -> Node | None:
    if depth == 0:
        return _merge_nodes(node, other) if node.rev == other.rev else None
    children = list(node.children)
    for i, child in enumerate(children):
        grafted = _graft(child, depth - 1, other)
        if grafted is not None:
            children[i] = grafted
            return Node(node.rev, node.deleted, tuple(children))
    return None


def _merge_nodes(a: Node, b: Node) -> Node:
    """Two nodes with the same revision: the union of their children."""
    if not b.children:
        return a
    children = {c.rev: c for c in a.children}
    for child in b.children:
        known = children.get(child.rev)
        children[child.rev] = child if known is None else _merge_nodes(known, child)
    ordered = tuple(children[k] for k in sorted(children))
    return Node(a.rev, a.deleted, ordered)


def _sorted(branches: list[Branch]) -> Tree:
    return tuple(sorted(branches, key=lambda b: (b.pos, b.root.rev)))


def _label(before: Tree, after: Tree) -> MergeResult:
    if not before:
        # Case: the first revision(s) of a document.
        return MergeResult.NEW_LEAF
    if after == before:
        return MergeResult.INTERNAL_NODE
    if len(leaves(after)) > len(leaves(before)):
        return MergeResult.NEW_BRANCH
    return MergeResult.NEW_LEAF


# -- stemming -----------------------------------------------------------------


def depth(tree: Tree) -> int:
    """The number of revisions on the longest root-to-leaf path."""
    return max((len(leaf.path) for leaf in _iter_leaves(tree)), default=0)


def stem(tree: Tree, limit: int = DEFAULT_REVS_LIMIT) -> tuple[Tree, frozenset[str]]:
    """Keep the newest ``limit`` revisions of every leaf's path.

    Returns the stemmed tree and the ``N-hash`` ids that were cut away.  Every
    leaf survives: only ancestors are removed.
    """
    if limit < 1:
        raise ValueError("revs_limit must be at least 1")
    if depth(tree) <= limit:
        return tree, frozenset()
    stemmed: Tree = EMPTY
    for leaf in _iter_leaves(tree):
        stemmed = _merge_branch(
            stemmed, path_branch(leaf.pos, leaf.path[:limit], leaf.deleted)
        )
    return stemmed, frozenset(all_revs(tree) - all_revs(stemmed))


# -- reading ------------------------------------------------------------------


def _iter_leaves(tree: Tree) -> Iterator[Leaf]:
    for branch in tree:
        stack: list[tuple[Node, int, tuple[str, ...]]] = [
            (branch.root, branch.pos, (branch.root.rev,))
        ]
        while stack:
            node, pos, path = stack.pop()
            if not node.children:
                yield Leaf(pos, node.rev, node.deleted, path)
            for child in node.children:
                stack.append((child, pos + 1, (child.rev,) + path))


def _winner_key(leaf: Leaf) -> tuple[bool, int, str]:
    # CouchDB's rule: not deleted beats deleted, then the longest path (the
    # highest generation), then the highest revision hash.
    return (not leaf.deleted, leaf.pos, leaf.rev)


def leaves(tree: Tree) -> list[Leaf]:
    """Every leaf, the winner first, then in descending winner order."""
    return sorted(_iter_leaves(tree), key=_winner_key, reverse=True)


def winner(tree: Tree) -> Leaf:
    """The winning leaf (raises ValueError for an empty tree)."""
    found = max(_iter_leaves(tree), key=_winner_key, default=None)
    if found is None:
        raise ValueError("an empty tree has no winner")
    return found


def conflicts(tree: Tree) -> list[Leaf]:
    """Losing leaves that are not deleted: the document's ``_conflicts``."""
    return [leaf for leaf in leaves(tree)[1:] if not leaf.deleted]


def deleted_conflicts(tree: Tree) -> list[Leaf]:
    """Losing leaves that are deleted: the document's ``_deleted_conflicts``."""
    return [leaf for leaf in leaves(tree)[1:] if leaf.deleted]


def all_revs(tree: Tree) -> set[str]:
    """Every ``N-hash`` in the tree."""
    found: set[str] = set()
    for branch in tree:
        stack = [(branch.root, branch.pos)]
        while stack:
            node, pos = stack.pop()
            found.add(f"{pos}-{node.rev}")
            stack.extend((child, pos + 1) for child in node.children)
    return found


def find(tree: Tree, pos: int, rev: str) -> tuple[Node, tuple[str, ...]] | None:
    """The node ``pos-rev`` and its path (newest first), or None."""
    for branch in tree:
        if pos < branch.pos:
            continue
        found = _find(branch.root, pos - branch.pos, rev, (branch.root.rev,))
        if found is not None:
            return found
    return None


def _find(
    node: Node, depth: int, rev: str, path: tuple[str, ...]
) -> tuple[Node, tuple[str, ...]] | None:
    if depth == 0:
        return (node, path) if node.rev == rev else None
    for child in node.children:
        found = _find(child, depth - 1, rev, (child.rev,) + path)
        if found is not None:
            return found
    return None


def leaves_under(tree: Tree, pos: int, rev: str) -> list[Leaf]:
    """The leaves that descend from ``pos-rev`` (itself, if it is a leaf)."""
    found = find(tree, pos, rev)
    if found is None:
        return []
    node, path = found
    result = []
    stack = [(node, pos, path)]
    while stack:
        current, p, current_path = stack.pop()
        if not current.children:
            result.append(Leaf(p, current.rev, current.deleted, current_path))
        for child in current.children:
            stack.append((child, p + 1, (child.rev,) + current_path))
    return sorted(result, key=_winner_key, reverse=True)


def find_missing(tree: Tree, revs: Iterable[str]) -> list[str]:
    """The ``N-hash`` ids of ``revs`` that the tree does not hold, in order."""
    known = all_revs(tree)
    return [rev for rev in revs if rev not in known]


# -- serialising --------------------------------------------------------------
#
# Stored compactly as JSON-ready lists: [[pos, node], ...] where a node is
# [hash, deleted (0|1), [child, ...]].


def to_json(tree: Tree) -> list:
    return [[b.pos, _node_to_json(b.root)] for b in tree]


def _node_to_json(node: Node) -> list:
    return [node.rev, 1 if node.deleted else 0, [_node_to_json(c) for c in node.children]]


def from_json(data: list) -> Tree:
    return tuple(Branch(pos, _node_from_json(node)) for pos, node in data)


def _node_from_json(data: list) -> Node:
    rev, deleted, children = data
    return Node(rev, bool(deleted), tuple(_node_from_json(c) for c in children))
