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
each path are kept, so old roots are cut away and a tree may become a forest
whose roots sit at any generation.

**The shape.**  CouchDB's key tree is nested (``{Pos, {Key, Value,
Children}}``), but a history can be 1,000 revisions deep and nested Python
structures that deep overflow the interpreter's recursion limit.  So a
``Tree`` is flat: a map from ``(pos, hash)`` to ``Rev(parent, deleted)``,
where ``parent`` is the hash of the revision at ``pos - 1`` (``None`` for a
first revision or a root left by stemming).  Merging is then a union of
nodes, and a stemmed root that learns its parent joins its ancestors.  The
nested ``Branch``/``Node`` form is kept for writing small trees by hand
(tests, examples): ``from_nested`` and ``to_nested`` convert.

Every function returns a new tree and never changes its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Iterator, Mapping

Key = tuple[int, str]  # (generation, hash)


@dataclass(frozen=True, slots=True)
class Rev:
    """One revision's place in the tree: its parent's hash and its deleted flag."""

    parent: str | None
    deleted: bool = False


class Tree:
    """An immutable revision tree (a forest, after stemming)."""

    __slots__ = ("_nodes",)

    def __init__(self, nodes: Mapping[Key, Rev] | None = None):
        self._nodes: dict[Key, Rev] = dict(nodes or {})

    @property
    def nodes(self) -> Mapping[Key, Rev]:
        return self._nodes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tree) and self._nodes == other._nodes

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self._nodes)

    def __bool__(self) -> bool:
        return bool(self._nodes)

    def __contains__(self, rev_id: object) -> bool:
        return isinstance(rev_id, str) and _key(rev_id) in self._nodes

    def __repr__(self) -> str:
        return f"Tree({to_nested(self)!r})"


EMPTY = Tree()


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
    """What a merge did, as CouchDB's ``couch_key_tree:merge`` labels it.

    One difference: here ``INTERNAL_NODE`` means the tree did not change at
    all.  A path that ends on a known leaf but brings ancestors the tree had
    lost to stemming is ``NEW_LEAF`` (CouchDB says ``internal_node``), so that
    a store saves the longer history.
    """

    NEW_LEAF = "new_leaf"  # the path extended a leaf (or started an empty tree)
    NEW_BRANCH = "new_branch"  # the path made a new leaf beside others: a conflict
    INTERNAL_NODE = "internal_node"  # every revision of the path was known


DEFAULT_REVS_LIMIT = 1000


def _key(rev_id: str) -> Key:
    pos, _, rev = rev_id.partition("-")
    return int(pos), rev


# -- building -----------------------------------------------------------------


def path(pos: int, revs: Iterable[str], deleted: bool = False) -> Tree:
    """A linear history: the leaf ``pos-revs[0]`` and its ancestors, newest first.

    ``revs`` is a document's ``_revisions.ids``; only the leaf carries
    ``deleted``; the oldest revision is a root (its parent unknown or none).
    """
    revs = list(revs)
    if not revs:
        raise ValueError("a path needs at least one revision")
    nodes: dict[Key, Rev] = {}
    for i, rev in enumerate(revs):
        parent = revs[i + 1] if i + 1 < len(revs) else None
        nodes[(pos - i, rev)] = Rev(parent, deleted if i == 0 else False)
    return Tree(nodes)


# -- merging ------------------------------------------------------------------


def merge(tree: Tree, incoming: Tree) -> tuple[Tree, MergeResult]:
    """Merge a path (or any tree) into ``tree``; see the module docstring."""
    nodes = dict(tree._nodes)
    changed = False
    for key, rev in incoming._nodes.items():
        known = nodes.get(key)
        if known is None:
            # Case: a revision the tree did not have.
            nodes[key] = rev
            changed = True
        elif known.parent is None and rev.parent is not None:
            # Case: a stemmed root learns its parent, joining its ancestors.
            nodes[key] = Rev(rev.parent, known.deleted)
            changed = True
        # Case: a known revision; nothing to do.
    if not changed:
        return tree, MergeResult.INTERNAL_NODE
    merged = Tree(nodes)
    if not tree:
        return merged, MergeResult.NEW_LEAF
    if len(_leaf_keys(merged)) > len(_leaf_keys(tree)):
        return merged, MergeResult.NEW_BRANCH
    return merged, MergeResult.NEW_LEAF


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
    nodes = tree._nodes
    if len(nodes) <= limit or max(pos for pos, _ in nodes) - min(pos for pos, _ in nodes) < limit:
        return tree, frozenset()  # Case: no path can be longer than the limit.
    keep: set[Key] = set()
    for leaf in _leaf_keys(tree):
        key: Key | None = leaf
        for _ in range(limit):
            if key is None:
                break
            keep.add(key)
            key = _parent_key(nodes, key)
    if len(keep) == len(nodes):
        return tree, frozenset()
    stemmed = {}
    for key in keep:
        rev = nodes[key]
        parent = _parent_key(nodes, key)
        stemmed[key] = rev if parent in keep else Rev(None, rev.deleted)
    cut = frozenset(f"{pos}-{rev}" for pos, rev in nodes if (pos, rev) not in keep)
    return Tree(stemmed), cut


# -- reading ------------------------------------------------------------------


def _parent_key(nodes: Mapping[Key, Rev], key: Key) -> Key | None:
    parent = nodes[key].parent
    if parent is None:
        return None
    parent_key = (key[0] - 1, parent)
    return parent_key if parent_key in nodes else None


def _leaf_keys(tree: Tree) -> set[Key]:
    nodes = tree._nodes
    parents = {(pos - 1, rev.parent) for (pos, _), rev in nodes.items() if rev.parent is not None}
    return {key for key in nodes if key not in parents}


def _path_of(nodes: Mapping[Key, Rev], key: Key) -> tuple[str, ...]:
    hashes = []
    current: Key | None = key
    while current is not None:
        hashes.append(current[1])
        current = _parent_key(nodes, current)
    return tuple(hashes)


def _iter_leaves(tree: Tree) -> Iterator[Leaf]:
    nodes = tree._nodes
    for key in _leaf_keys(tree):
        yield Leaf(key[0], key[1], nodes[key].deleted, _path_of(nodes, key))


def _winner_key(leaf: Leaf) -> tuple[bool, int, str]:
    # CouchDB's rule: not deleted beats deleted, then the longest path (the
    # highest generation), then the highest revision hash.
    return (not leaf.deleted, leaf.pos, leaf.rev)


def leaves(tree: Tree) -> list[Leaf]:
    """Every leaf, the winner first, then in descending winner order."""
    if len(tree._nodes) == 1:  # Case: a single revision, by far the most common.
        return [winner(tree)]
    return sorted(_iter_leaves(tree), key=_winner_key, reverse=True)


def winner(tree: Tree) -> Leaf:
    """The winning leaf (raises ValueError for an empty tree)."""
    nodes = tree._nodes
    if len(nodes) == 1:  # Case: a single revision, by far the most common.
        ((pos, rev), node), = nodes.items()
        return Leaf(pos, rev, node.deleted, (rev,))
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
    return {f"{pos}-{rev}" for pos, rev in tree._nodes}


def find(tree: Tree, pos: int, rev: str) -> tuple[Rev, tuple[str, ...], bool] | None:
    """The revision ``pos-rev``: its node, its path (newest first), and whether it is a leaf."""
    nodes = tree._nodes
    key = (pos, rev)
    node = nodes.get(key)
    if node is None:
        return None
    is_leaf = not any(p == pos + 1 and r.parent == rev for (p, _), r in nodes.items())
    return node, _path_of(nodes, key), is_leaf


def leaves_under(tree: Tree, pos: int, rev: str) -> list[Leaf]:
    """The leaves that descend from ``pos-rev`` (itself, if it is a leaf)."""
    nodes = tree._nodes
    if (pos, rev) not in nodes:
        return []
    if len(nodes) == 1:  # Case: a single revision, the one asked for.
        return [winner(tree)]
    found = [
        leaf
        for leaf in _iter_leaves(tree)
        if leaf.pos >= pos and len(leaf.path) > leaf.pos - pos and leaf.path[leaf.pos - pos] == rev
    ]
    return sorted(found, key=_winner_key, reverse=True)


def find_missing(tree: Tree, revs: Iterable[str]) -> list[str]:
    """The ``N-hash`` ids of ``revs`` that the tree does not hold, in order."""
    nodes = tree._nodes
    missing = []
    for rev in revs:
        pos, _, rev_hash = rev.partition("-")
        if not pos.isdigit() or (int(pos), rev_hash) not in nodes:
            missing.append(rev)
    return missing


# -- serialising --------------------------------------------------------------
#
# Stored as a flat JSON-ready list, sorted by (pos, hash):
#     [[pos, hash, parent_index, deleted (0|1)], ...]
# where parent_index is the position of the parent in the same list, or -1.


def to_json(tree: Tree) -> list:
    nodes = tree._nodes
    order = sorted(nodes)
    index = {key: i for i, key in enumerate(order)}
    out = []
    for key in order:
        parent = _parent_key(nodes, key)
        out.append([key[0], key[1], -1 if parent is None else index[parent], 1 if nodes[key].deleted else 0])
    return out


def from_json(data: list) -> Tree:
    nodes = {}
    for pos, rev, parent, deleted in data:
        nodes[(pos, rev)] = Rev(None if parent < 0 else data[parent][1], bool(deleted))
    return Tree(nodes)


# -- the nested form, for writing small trees by hand ----------------------------


@dataclass(frozen=True, slots=True)
class Node:
    """A revision and its children, as CouchDB's key tree nests them."""

    rev: str
    deleted: bool = False
    children: tuple["Node", ...] = ()


@dataclass(frozen=True, slots=True)
class Branch:
    """A nested tree whose root is at generation ``pos``."""

    pos: int
    root: Node


def from_nested(*branches: Branch) -> Tree:
    """A flat tree from nested branches (iterative: any depth)."""
    nodes: dict[Key, Rev] = {}
    for branch in branches:
        stack: list[tuple[Node, int, str | None]] = [(branch.root, branch.pos, None)]
        while stack:
            node, pos, parent = stack.pop()
            nodes[(pos, node.rev)] = Rev(parent, node.deleted)
            stack.extend((child, pos + 1, node.rev) for child in node.children)
    return Tree(nodes)


def to_nested(tree: Tree) -> tuple[Branch, ...]:
    """Nested branches sorted by (pos, root hash), children sorted by hash."""
    nodes = tree._nodes
    children: dict[Key, list[Key]] = {key: [] for key in nodes}
    roots = []
    for key in sorted(nodes, reverse=True):
        parent = _parent_key(nodes, key)
        if parent is None:
            roots.append(key)
        else:
            children[parent].append(key)
    built: dict[Key, Node] = {}
    for key in sorted(nodes, reverse=True):  # deepest first: children are built before parents
        kids = tuple(built[k] for k in sorted(children[key], key=lambda k: k[1]))
        built[key] = Node(key[1], nodes[key].deleted, kids)
    return tuple(Branch(key[0], built[key]) for key in sorted(roots))
