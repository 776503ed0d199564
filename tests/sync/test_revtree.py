"""Tests for sync.revtree (revision trees) and sync.revid (revision ids).

Most merge, lookup and stemming cases are ported from CouchDB's and
PouchDB's own test suites (each group names its source).  CouchDB writes a
tree as ``{Pos, {Key, Value, Children}}``; here the cases are written in
revtree's nested form, ``Branch(pos, Node(rev, deleted, children))``, turned
into a flat ``Tree`` with ``from_nested``; the values are dropped.
"""

from __future__ import annotations

import json
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import revtree
from sync.revid import InvalidRev, new_rev, parse_rev
from sync.revtree import Branch, EMPTY, Leaf, MergeResult, Node, Tree

NEW_LEAF = MergeResult.NEW_LEAF
NEW_BRANCH = MergeResult.NEW_BRANCH
INTERNAL_NODE = MergeResult.INTERNAL_NODE


def N(rev: str, *children: Node, deleted: bool = False) -> Node:
    return Node(rev, deleted, tuple(children))


B = Branch


def T(shape) -> Tree:
    """A Tree from a Tree, one nested Branch or a list of them."""
    if isinstance(shape, Tree):
        return shape
    if isinstance(shape, Branch):
        return revtree.from_nested(shape)
    return revtree.from_nested(*shape)


def merge_and_stem(tree, incoming, limit=10):
    """CouchDB's test helper (and PouchDB's merge): merge, then stem."""
    merged, result = revtree.merge(T(tree), T(incoming))
    return revtree.stem(merged, limit)[0], result


def check_merge(tree, incoming, expected_tree, expected_result, limit=10):
    assert merge_and_stem(tree, incoming, limit) == (T(expected_tree), expected_result)


def leaf_ids(tree) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((leaf.rev_id, leaf.path) for leaf in revtree.leaves(T(tree)))


# Shapes shared by the CouchDB merge cases.
ONE = B(1, N("1"))
TWO_SIBS = (B(1, N("1")), B(1, N("2")))
TWO_CHILD = B(1, N("1", N("1a", N("1aa"))))
TWO_CHILD_SIBS = B(1, N("1", N("1a"), N("1b")))
ONE_CHILD = B(1, N("1", N("1a")))
# CouchDB's lookup, counting and stemming cases root these shapes at pos 0.
TWO_CHILD_SIBS0 = T(B(0, N("1", N("1a"), N("1b"))))
ONE_CHILD0 = T(B(0, N("1", N("1a"))))
TWO_CHILD0 = T(B(0, N("1", N("1a", N("1aa")))))
STEMMED_1A = T(B(1, N("1a", N("1aa"))))


# -- ported from apache/couchdb src/couch/test/eunit/couch_key_tree_tests.erl,
# -- key_tree_merge_test_ (should_merge_* ... should_ignore_conflicting_branch)


def test_should_merge_with_empty_tree():
    check_merge([], ONE, ONE, NEW_LEAF)


def test_should_merge_reflexive():
    check_merge([ONE], ONE, ONE, INTERNAL_NODE)


def test_should_merge_prefix_of_a_tree_with_tree():
    check_merge(TWO_SIBS, ONE, TWO_SIBS, INTERNAL_NODE)


def test_should_produce_conflict_on_merge_with_unrelated_branch():
    check_merge(TWO_SIBS, B(1, N("3")), TWO_SIBS + (B(1, N("3")),), NEW_BRANCH)


def test_should_merge_reflexive_for_child_nodes():
    check_merge([TWO_CHILD], TWO_CHILD, TWO_CHILD, INTERNAL_NODE)


def test_should_merge_tree_to_itself():
    tree = T(TWO_CHILD_SIBS)
    for leaf in revtree.leaves(tree):
        tree, result = merge_and_stem(tree, revtree.path(leaf.pos, leaf.path))
        assert result is INTERNAL_NODE
    assert tree == T(TWO_CHILD_SIBS)


def test_should_merge_tree_of_odd_length():
    check_merge(TWO_CHILD_SIBS, TWO_CHILD, B(1, N("1", N("1a", N("1aa")), N("1b"))), NEW_LEAF)


def test_should_merge_tree_with_stem():
    check_merge(TWO_CHILD_SIBS, B(2, N("1a")), TWO_CHILD_SIBS, INTERNAL_NODE)


def test_should_merge_with_stem_at_deeper_level():
    tree = B(1, N("1", N("1a"), N("1b", N("1bb"))))
    check_merge([tree], B(3, N("1bb")), tree, INTERNAL_NODE)


def test_should_merge_with_stem_at_deeper_level_with_deeper_paths():
    stemmed_sibs = (B(2, N("1a")), B(2, N("1b", N("1bb"))))
    check_merge(stemmed_sibs, B(3, N("1bb")), stemmed_sibs, INTERNAL_NODE)


def test_should_merge_single_tree_with_deeper_stem():
    check_merge([TWO_CHILD], B(3, N("1aa")), TWO_CHILD, INTERNAL_NODE)


def test_should_merge_tree_with_large_stem():
    check_merge(TWO_CHILD, B(2, N("1a", N("1aa"))), TWO_CHILD, INTERNAL_NODE)


def test_should_merge_stems():
    stemmed_a = B(2, N("1a", N("1aa")))
    check_merge([stemmed_a], B(3, N("1aa")), stemmed_a, INTERNAL_NODE)


def test_should_create_conflicts_on_merge():
    stemmed = B(3, N("1aa"))
    check_merge([ONE_CHILD], stemmed, (ONE_CHILD, stemmed), NEW_BRANCH)


def test_should_create_no_conflicts_on_merge():
    check_merge([ONE_CHILD, B(3, N("1aa"))], TWO_CHILD, TWO_CHILD, NEW_LEAF)


def test_should_ignore_conflicting_branch():
    # COUCHDB-902: foo has conflicts foo2/foo3; an edit of foo3 adds foo4.
    foo = B(1, N("foo", N("foo2"), N("foo3")))
    bar = B(1, N("foo", N("foo3", N("foo4"))))
    foo_bar = B(1, N("foo", N("foo2"), N("foo3", N("foo4"))))
    check_merge([foo], bar, foo_bar, NEW_LEAF)


# -- ported from apache/couchdb src/couch/test/eunit/couch_key_tree_tests.erl,
# -- key_tree_missing_leaves_test_ (our find_missing takes "N-hash" strings)


def test_should_not_find_missing_leaves():
    assert revtree.find_missing(TWO_CHILD_SIBS0, ["0-1", "1-1a"]) == []


def test_should_find_missing_leaves():
    asked = ["0-1", "0-10", "1-1a", "100-x"]
    assert revtree.find_missing(TWO_CHILD_SIBS0, asked) == ["0-10", "100-x"]
    asked = ["0-1", "1-1a", "100-x"]
    assert revtree.find_missing(STEMMED_1A, asked) == ["0-1", "100-x"]
    stemmed2 = T(B(2, N("1aa")))
    assert revtree.find_missing(stemmed2, asked) == ["0-1", "1-1a", "100-x"]


def random_rev_tree(rng: random.Random, size: int, branch_p: float):
    """A stand-in for CouchDB's test_util:revtree_generate: a seeded tree."""
    tree, leaf_paths = EMPTY, [(1, [f"{rng.getrandbits(128):032x}"])]
    for _ in range(size - 1):
        if rng.random() < branch_p:  # branch off a random existing revision
            pos, path = rng.choice(leaf_paths)
            cut = rng.randrange(len(path))
            pos, path = pos - cut, path[cut:]
        else:  # extend the newest path
            pos, path = leaf_paths[-1]
        leaf_paths.append((pos + 1, [f"{rng.getrandbits(128):032x}"] + path))
    for pos, path in leaf_paths:
        tree, _ = revtree.merge(tree, revtree.path(pos, path))
    return tree


def test_should_not_find_missing_leaves_large_test():
    rng = random.Random(1647841737)
    tree = random_rev_tree(rng, 1000, 0.2)
    revs = sorted(revtree.all_revs(tree))
    rng.shuffle(revs)
    assert len(revs) == 1000 and revtree.find_missing(tree, revs) == []


def test_should_find_missing_leaves_large_test():
    rng = random.Random(1647841737)
    tree = random_rev_tree(rng, 1000, 0.2)
    asked = [f"{rng.randint(1, 1000)}-{rng.getrandbits(128):032x}" for _ in range(1000)]
    assert revtree.find_missing(tree, asked) == asked


# -- ported from apache/couchdb src/couch/test/eunit/couch_key_tree_tests.erl,
# -- key_tree_get_leaves_test_ (get, get_key_leafs, get_full_key_paths and
# -- get_all_leafs map to find, leaves_under and leaves)
# -- (key_tree_remove_leaves_test_ is not ported: revtree has no remove_leafs)


def key_leafs(tree, revs):
    """get_key_leafs: the leaves under the N-hash ids, and the ids not found."""
    found, missing = set(), []
    for rev in revs:
        pos, _, h = rev.partition("-")
        under = revtree.leaves_under(tree, int(pos), h)
        found.update(under)
        if not under:
            missing.append(rev)
    return sorted((leaf.rev_id, leaf.path) for leaf in found), missing


def test_should_extract_subtree():
    _, path, is_leaf = revtree.find(TWO_CHILD_SIBS0, 0, "1")
    assert (path, is_leaf) == (("1",), False)


def test_should_extract_subsubtree():
    _, path, is_leaf = revtree.find(TWO_CHILD_SIBS0, 1, "1a")
    assert (path, is_leaf) == (("1a", "1"), True)


def test_should_gather_non_existant_leaf():
    assert key_leafs(TWO_CHILD_SIBS0, ["0-x"]) == ([], ["0-x"])
    assert revtree.find(TWO_CHILD_SIBS0, 0, "x") is None


def test_should_gather_leaf():
    assert revtree.leaves_under(TWO_CHILD_SIBS0, 1, "1a") == [Leaf(1, "1a", False, ("1a", "1"))]


def test_shoul_gather_multiple_leaves():
    expected = [("1-1a", ("1a", "1")), ("1-1b", ("1b", "1"))]
    assert key_leafs(TWO_CHILD_SIBS0, ["0-1"]) == (expected, [])


def test_should_gather_single_leaf_for_multiple_revs():
    assert key_leafs(ONE_CHILD0, ["0-1", "1-1a"]) == ([("1-1a", ("1a", "1"))], [])


def test_should_gather_multiple_for_multiple_revs():
    expected = [("1-1a", ("1a", "1")), ("1-1b", ("1b", "1"))]
    assert key_leafs(TWO_CHILD_SIBS0, ["0-1", "1-1a"]) == (expected, [])


def test_should_retrieve_full_key_path():
    assert revtree.find(TWO_CHILD_SIBS0, 0, "1")[1] == ("1",)


def test_should_retrieve_full_key_path_for_node():
    assert revtree.find(TWO_CHILD_SIBS0, 1, "1a")[1] == ("1a", "1")


def test_should_retrieve_leaves_with_parent_node():
    assert leaf_ids(STEMMED_1A) == [("2-1aa", ("1aa", "1a"))]
    assert leaf_ids(TWO_CHILD_SIBS0) == [("1-1a", ("1a", "1")), ("1-1b", ("1b", "1"))]


def test_should_retrieve_all_leaves():
    assert [leaf.rev_id for leaf in revtree.leaves(STEMMED_1A)] == ["2-1aa"]
    assert {leaf.rev_id for leaf in revtree.leaves(TWO_CHILD_SIBS0)} == {"1-1a", "1-1b"}


# -- ported from apache/couchdb src/couch/test/eunit/couch_key_tree_tests.erl,
# -- key_tree_leaf_counting_test_ (count_leafs is len(leaves(...)))


def test_should_have_no_leaves_for_empty_tree():
    assert len(revtree.leaves(EMPTY)) == 0


def test_should_have_single_leaf_for_tree_with_single_node():
    assert len(revtree.leaves(T(B(0, N("1"))))) == 1


def test_should_have_two_leaves_for_tree_with_chindler_siblings():
    assert len(revtree.leaves(TWO_CHILD_SIBS0)) == 2


def test_should_not_affect_on_leaf_counting_for_stemmed_tree():
    assert len(revtree.leaves(T(B(2, N("1bb"))))) == 1


# -- ported from apache/couchdb src/couch/test/eunit/couch_key_tree_tests.erl,
# -- key_tree_stemming_test_ (our stem also returns the ids it cut away)


def test_should_have_no_effect_for_stemming_more_levels_than_exists():
    assert revtree.stem(TWO_CHILD0, 3) == (TWO_CHILD0, frozenset())


def test_should_return_one_deepest_node():
    assert revtree.stem(TWO_CHILD0, 1) == (T(B(2, N("1aa"))), {"0-1", "1-1a"})


def test_should_return_two_deepest_nodes():
    assert revtree.stem(TWO_CHILD0, 2) == (T(B(1, N("1a", N("1aa")))), {"0-1"})


# -- ported from pouchdb/pouchdb tests/unit/test.merge.js (merge(tree, path,
# -- depth) is merge_and_stem here; the ids are PouchDB's test titles)

P_SIMPLE = B(1, N("1"))
P_TWO0 = B(1, N("1", N("2_0")))
P_TWO1 = B(1, N("1", N("2_1")))
P_NEWLEAF = B(2, N("2_0", N("3")))
P_WITHNEWLEAF = B(1, N("1", N("2_0", N("3"))))
P_NEWBRANCH = B(1, N("1", N("2_0"), N("2_1")))
P_NEWDEEPBRANCH = B(2, N("2_0", N("3_1")))
P_STEMMEDCONFLICTS = (P_SIMPLE, B(3, N("3")))
P_NEWBRANCHLEAF = B(1, N("1", N("2_0", N("3")), N("2_1")))
P_NEWBRANCHLEAFBRANCH = B(1, N("1", N("2_0", N("3"), N("3_1")), N("2_1")))
P_STEMMED2 = (B(1, N("1", N("2_1"))), B(2, N("2_0", N("3"), N("3_1"))))
P_STEMMED3 = (B(2, N("2_1")), B(3, N("3")), B(3, N("3_1")))
P_PARTIALRECOVER = (P_WITHNEWLEAF, B(2, N("2_1")), B(3, N("3_1")))
P_STEMMED1AA = B(3, N("1aa"))
P_STEMMED1A = B(2, N("1a", N("1aa")))
P_PLUS_SIBS2 = B(1, N("1", N("1a"), N("1b", N("1bb"))))
P_STEMMED_SIBS2 = (B(2, N("1a")), B(2, N("1b", N("1bb"))))


def case(title, tree, path, expected_tree, expected_result, limit=10, differs=None):
    """A PouchDB case; ``differs=(tree, result, why)`` where Blockwalk deliberately answers otherwise."""
    if differs is not None:
        expected_tree, expected_result, _why = differs
    return pytest.param(tree, path, limit, expected_tree, expected_result, id=title)


UNRELATED_ROOT = (
    "PouchDB labels a path sharing no revision with the tree 'internal_node'; "
    "revtree.merge says NEW_BRANCH (one more leaf), as CouchDB's "
    "should_produce_conflict_on_merge_with_unrelated_branch and "
    "should_create_conflicts_on_merge expect"
)
STEM_PER_PATH = (
    "PouchDB stems each leaf path on its own and re-merges them, so 2-2_0 "
    "loses its parent 1-1 (the paths of 3-3 and 3-3_1 keep 2 revisions); "
    "revtree.stem keeps 1-1 (2-2_1 needs it) and with it the edge "
    "1-1 -> 2-2_0, so the tree stays whole, as CouchDB's stem_tree does"
)
NEW_ANCESTORS = (
    "PouchDB (and CouchDB's merge_extend([], []), the path ending on the known "
    "leaf 3-3) label this 'internal_node'; revtree.merge says NEW_LEAF because "
    "the path adds the unknown ancestors 1-1 and 2-2_0; the tree is as expected"
)

POUCH_CASES = [
    case("Merging a path into an empty tree is the path", [], P_SIMPLE, P_SIMPLE, NEW_LEAF),
    case("Remerge path into path is reflexive", P_SIMPLE, P_SIMPLE, P_SIMPLE, INTERNAL_NODE),
    case("Merging a path with multiple entries is the path", [], P_TWO0, P_TWO0, NEW_LEAF),
    case("Merging a path with multiple entries is reflexive", P_TWO0, P_TWO0, P_TWO0, INTERNAL_NODE),
    case("Merging a subpath into a path results in the path", P_TWO0, P_SIMPLE, P_TWO0, INTERNAL_NODE),
    case("Merging a new leaf gives us a new leaf", P_TWO0, P_NEWLEAF, P_WITHNEWLEAF, NEW_LEAF),
    case("Merging a new branch returns a proper tree", P_TWO0, P_TWO1, P_NEWBRANCH, NEW_BRANCH),
    case("Order of merging does not affect the resulting tree",
         P_TWO1, P_TWO0, P_NEWBRANCH, NEW_BRANCH),
    case("Merging a new_leaf doesnt return new_branch when branches exist",
         P_NEWBRANCH, P_NEWLEAF, P_NEWBRANCHLEAF, NEW_LEAF),
    case("Merging a deep branch with branches works",
         P_NEWBRANCHLEAF, P_NEWDEEPBRANCH, P_NEWBRANCHLEAFBRANCH, NEW_BRANCH),
    case("New information reconnects steming induced conflicts",
         P_STEMMEDCONFLICTS, P_WITHNEWLEAF, P_WITHNEWLEAF, NEW_LEAF),
    case("Simple stemming works", P_TWO0, P_NEWLEAF, P_NEWLEAF, NEW_LEAF, limit=2),
    case("Merge with stemming works correctly for branches",
         P_NEWBRANCHLEAFBRANCH, P_SIMPLE, P_STEMMED2, INTERNAL_NODE, limit=2,
         differs=(P_NEWBRANCHLEAFBRANCH, INTERNAL_NODE, STEM_PER_PATH)),
    case("Merge with stemming to leaves works fine",
         P_NEWBRANCHLEAFBRANCH, P_SIMPLE, P_STEMMED3, INTERNAL_NODE, limit=1),
    case("Merging unstemmed recovers as much as possible without losing info",
         P_STEMMED3, P_WITHNEWLEAF, P_PARTIALRECOVER, INTERNAL_NODE,
         differs=(P_PARTIALRECOVER, NEW_LEAF, NEW_ANCESTORS)),
    # PouchDB's second half re-ports CouchDB's older kt-merging suite.
    case("The empty tree is the identity for merge.", [], ONE, ONE, NEW_LEAF),
    case("Merging is reflexive", ONE, ONE, ONE, INTERNAL_NODE),
    case("Merging a prefix of a tree with the tree yields the tree.",
         TWO_SIBS, ONE, TWO_SIBS, INTERNAL_NODE),
    case("Merging a third unrelated branch leads to a conflict.",
         TWO_SIBS, B(1, N("3")), TWO_SIBS + (B(1, N("3")),), INTERNAL_NODE,
         differs=(TWO_SIBS + (B(1, N("3")),), NEW_BRANCH, UNRELATED_ROOT)),
    case("Merging two children is still reflexive.", TWO_CHILD, TWO_CHILD, TWO_CHILD, INTERNAL_NODE),
    case("Merging a tree to itself is itself.",
         TWO_CHILD_SIBS, TWO_CHILD_SIBS, TWO_CHILD_SIBS, INTERNAL_NODE),
    case("Merging tree of uneven length at node 2.",
         TWO_CHILD, TWO_CHILD_SIBS, B(1, N("1", N("1a", N("1aa")), N("1b"))), NEW_BRANCH),
    case("Merging a tree with a stem.", TWO_CHILD_SIBS, B(2, N("1a")), TWO_CHILD_SIBS, INTERNAL_NODE),
    case("Merging a stem at a deeper level.",
         P_PLUS_SIBS2, B(3, N("1bb")), P_PLUS_SIBS2, INTERNAL_NODE),
    case("Merging a stem at a deeper level against paths at deeper levels.",
         P_STEMMED_SIBS2, B(3, N("1bb")), P_STEMMED_SIBS2, INTERNAL_NODE),
    case("Merging a single tree with a deeper stem.",
         TWO_CHILD, P_STEMMED1AA, TWO_CHILD, INTERNAL_NODE),
    case("Merging a larger stem.", TWO_CHILD, P_STEMMED1A, TWO_CHILD, INTERNAL_NODE),
    case("More merging.", P_STEMMED1A, P_STEMMED1AA, P_STEMMED1A, INTERNAL_NODE),
    case("Merging should create conflicts.",
         ONE_CHILD, P_STEMMED1AA, (ONE_CHILD, P_STEMMED1AA), INTERNAL_NODE,
         differs=((ONE_CHILD, P_STEMMED1AA), NEW_BRANCH, UNRELATED_ROOT)),
    case("Merging should have no conflicts.",
         (ONE_CHILD, P_STEMMED1AA), TWO_CHILD, TWO_CHILD, NEW_LEAF),
    case("Merging trees with conflicts ought to behave.",
         B(1, N("foo", N("foo2"), N("foo3"))), B(1, N("foo", N("foo3", N("foo4")))),
         B(1, N("foo", N("foo2"), N("foo3", N("foo4")))), NEW_LEAF),
]


@pytest.mark.parametrize("tree, path, limit, expected_tree, expected_result", POUCH_CASES)
def test_pouchdb_merge(tree, path, limit, expected_tree, expected_result):
    check_merge(tree, path, expected_tree, expected_result, limit)


# -- ported from pouchdb/pouchdb tests/unit/test.merge.js, winningRev cases


def test_winningRev_returns_the_longest_leaf():
    tree = T(B(1, N("bfe70372c90ded1087239e5191984f76",
                    N("44d71a718b90e4696c06a90e08912c8f"),
                    N("56e657612d55ab1a402dcb281c874f2a",
                      N("93c3db16462f656f7172ccabd3cf6cd6")))))
    assert revtree.winner(tree).rev_id == "3-93c3db16462f656f7172ccabd3cf6cd6"


def test_winningRev_returns_the_longest_leaf_again():
    # PouchDB issue #293: two unrelated roots at pos 1.
    tree = T([
        B(1, N("203db1a1810a838895d561f67b224b5d",
               N("bf5e08a4f9fa6d33a53f4a00ae3ea399",
                 N("28cd77a3ca30f79e1cfffcd6a41ca308")))),
        B(1, N("c6d5cce35bcfbef90b20f140d723cbdb",
               N("1b8dfbb1267e213328920bae43f2f597"),
               N("59ed830b84b276ab776c3c51aaf93a16",
                 N("64a9842c6aea50bf24660378e496e853")))),
    ])
    assert revtree.winner(tree).rev_id == "3-64a9842c6aea50bf24660378e496e853"


# -- the winner rule: not deleted beats deleted, then the highest generation,
# -- then the highest hash; the losers split into conflicts / deleted_conflicts


def rev_ids(found):
    return [leaf.rev_id for leaf in found]


def test_winner_not_deleted_beats_a_longer_deleted_leaf():
    tree = T(B(1, N("a", N("b", N("c", deleted=True)), N("d"))))
    assert revtree.winner(tree) == Leaf(2, "d", False, ("d", "a"))
    assert rev_ids(revtree.conflicts(tree)) == []
    assert rev_ids(revtree.deleted_conflicts(tree)) == ["3-c"]


def test_winner_highest_generation_beats_a_higher_hash():
    tree = T(B(1, N("a", N("b", N("c")), N("z"))))
    assert revtree.winner(tree).rev_id == "3-c"
    assert rev_ids(revtree.conflicts(tree)) == ["2-z"]


def test_winner_same_generation_highest_hash_wins():
    tree = T(B(1, N("a", N("9"), N("b"), N("c"))))
    assert revtree.winner(tree).rev_id == "2-c"
    assert rev_ids(revtree.conflicts(tree)) == ["2-b", "2-9"]
    assert rev_ids(revtree.leaves(tree)) == ["2-c", "2-b", "2-9"]


def test_winner_counts_generation_across_stemmed_branches():
    tree = T([B(1, N("a", N("f"))), B(4, N("e", N("b")))])
    assert revtree.winner(tree).rev_id == "5-b"
    assert rev_ids(revtree.conflicts(tree)) == ["2-f"]


def test_winner_when_every_leaf_is_deleted():
    tree = T(B(1, N("a", N("b", deleted=True), N("c", N("d", deleted=True)))))
    assert revtree.winner(tree) == Leaf(3, "d", True, ("d", "c", "a"))
    assert revtree.conflicts(tree) == []
    assert rev_ids(revtree.deleted_conflicts(tree)) == ["2-b"]


def test_winner_of_a_single_revision_and_of_the_empty_tree():
    assert revtree.winner(revtree.path(1, ["a"], deleted=True)) == Leaf(1, "a", True, ("a",))
    with pytest.raises(ValueError):
        revtree.winner(EMPTY)
    assert revtree.conflicts(EMPTY) == [] and revtree.leaves(EMPTY) == []


# -- a deleted revision stays deleted once it has children (CouchDB keeps a
# -- stored node's value on merge, value_pref/2, and on stem; not an upstream case)


def test_stem_keeps_the_deleted_flag_of_an_internal_revision():
    tree = T(B(1, N("a", N("b", N("c"), deleted=True), N("x", N("y", N("z"))))))
    stemmed, _ = revtree.stem(tree, 2)
    assert revtree.find(stemmed, 2, "b")[0].deleted is True


@pytest.mark.parametrize("stored", [B(1, N("a", N("b", deleted=True))), B(2, N("b", deleted=True))],
                         ids=["path starts at the same pos", "path starts earlier"])
def test_merge_keeps_the_deleted_flag_of_a_revision_that_gets_a_child(stored):
    merged, result = revtree.merge(T(stored), revtree.path(3, ["c", "b", "a"]))
    assert result is NEW_LEAF
    assert revtree.find(merged, 2, "b")[0].deleted is True
    assert revtree.winner(merged).rev_id == "3-c"


# -- properties


@st.composite
def rev_paths(draw, max_nodes=12):
    """Leaf paths (pos, revs newest first, deleted) of one random revision
    forest with unique hashes, each possibly cut at the root (stemmed)."""
    n = draw(st.integers(1, max_nodes))
    hashes = draw(st.lists(st.text("0123456789abcdef", min_size=1, max_size=3),
                           min_size=n, max_size=n, unique=True))
    # Each revision's parent: often the previous one (long histories), else
    # any earlier one, or -1 for a root.
    parent = [draw(st.one_of(st.just(i - 1), st.integers(-1, i - 1))) for i in range(n)]
    pos = []
    for i in range(n):
        pos.append(draw(st.integers(1, 3)) if parent[i] < 0 else pos[parent[i]] + 1)
    paths = []
    for leaf in sorted(set(range(n)) - set(parent)):
        revs, j = [], leaf
        while j >= 0:
            revs, j = revs + [hashes[j]], parent[j]
        keep = draw(st.integers(1, len(revs)))
        paths.append((pos[leaf], tuple(revs[:keep]), draw(st.booleans())))
    return paths


def build(paths) -> Tree:
    tree = EMPTY
    for pos, revs, deleted in paths:
        tree, _ = revtree.merge(tree, revtree.path(pos, revs, deleted))
    return tree


def path_revs(pos, revs):
    return {f"{pos - i}-{h}" for i, h in enumerate(revs)}


PROPERTY = settings(max_examples=300, deadline=None, database=None)


@PROPERTY
@given(rev_paths(), st.data())
def test_merge_never_loses_a_revision(paths, data):
    tree = build(data.draw(st.lists(st.sampled_from(paths), max_size=6)))
    pos, revs, deleted = data.draw(st.sampled_from(paths))
    merged, _ = revtree.merge(tree, revtree.path(pos, revs, deleted))
    assert revtree.all_revs(merged) >= revtree.all_revs(tree) | path_revs(pos, revs)
    assert f"{pos}-{revs[0]}" in merged


@PROPERTY
@given(rev_paths(), st.integers(1, 6))
def test_stem_keeps_every_leaf_and_its_newest_revisions(paths, limit):
    tree = build(paths)
    stemmed, cut = revtree.stem(tree, limit)
    before = {(lf.pos, lf.rev, lf.deleted): lf.path for lf in revtree.leaves(tree)}
    after = {(lf.pos, lf.rev, lf.deleted): lf.path for lf in revtree.leaves(stemmed)}
    assert after.keys() == before.keys()
    # Each leaf keeps its newest `limit` revisions, and only a revision among
    # the newest `limit` of some leaf survives.  A path can stay longer than
    # `limit` through an ancestor that a shorter branch still needs (see
    # test_stem_keeps_an_ancestor_that_a_shorter_branch_needs).
    assert all(after[k][:limit] == before[k][:limit] for k in after)
    kept = set().union(*(path_revs(k[0], p[:limit]) for k, p in before.items()))
    assert revtree.all_revs(stemmed) == kept
    assert cut == revtree.all_revs(tree) - kept
    assert revtree.depth(stemmed) <= revtree.depth(tree)
    assert revtree.stem(stemmed, limit) == (stemmed, frozenset())


def test_stem_keeps_an_ancestor_that_a_shorter_branch_needs():
    # 1-a -> 2-b -> (3-c -> 4-d -> 5-e | 3-f), limit 3: 5-e needs 3-c, and
    # 3-f needs 2-b and 1-a, so nothing is cut and 5-e keeps 5 revisions
    # (CouchDB's couch_key_tree:stem_tree keeps a node within the limit of
    # any leaf, too).
    tree = T(B(1, N("a", N("b", N("c", N("d", N("e"))), N("f")))))
    assert revtree.stem(tree, 3) == (tree, frozenset())
    assert revtree.depth(revtree.stem(tree, 3)[0]) == 5
    # With a limit of 2, 5-e keeps 4-d and 3-f keeps 2-b.
    stemmed = T([B(2, N("b", N("f"))), B(4, N("d", N("e")))])
    assert revtree.stem(tree, 2) == (stemmed, {"1-a", "3-c"})


def test_stem_result_does_not_depend_on_the_order_of_leaves():
    # 20 copies of 1-a -> 2-b -> 3-c -> (4-d | 4-e -> 5-f -> 6-g), limit 4:
    # 4-d needs 1-a, whether 6-g's path (which stops at 3-c) is walked first
    # or not.  Many copies make a lucky leaf order (set order) unlikely.
    tree = T([B(1, N(f"a{i}", N(f"b{i}", N(f"c{i}", N(f"d{i}"), N(f"e{i}", N(f"f{i}", N(f"g{i}")))))))
              for i in range(20)])
    assert revtree.stem(tree, 4) == (tree, frozenset())


@PROPERTY
@given(rev_paths(), st.data())
def test_merge_order_does_not_matter(paths, data):
    shuffled = data.draw(st.permutations(paths))
    tree, other = build(paths), build(shuffled)
    assert other == tree
    assert revtree.winner(other) == revtree.winner(tree)
    assert revtree.conflicts(other) == revtree.conflicts(tree)


@PROPERTY
@given(rev_paths(), st.data())
def test_merging_a_path_twice_is_internal_node(paths, data):
    tree = build(data.draw(st.lists(st.sampled_from(paths), max_size=6)))
    pos, revs, deleted = data.draw(st.sampled_from(paths))
    once, _ = revtree.merge(tree, revtree.path(pos, revs, deleted))
    twice, result = revtree.merge(once, revtree.path(pos, revs, deleted))
    assert result is INTERNAL_NODE
    assert twice == once


@PROPERTY
@given(rev_paths(), st.integers(1, 4))
def test_json_and_nested_round_trips(paths, limit):
    for tree in (build(paths), revtree.stem(build(paths), limit)[0]):
        wire = revtree.to_json(tree)
        assert revtree.from_json(wire) == tree
        assert revtree.from_json(json.loads(json.dumps(wire))) == tree
        assert revtree.from_nested(*revtree.to_nested(tree)) == tree


def test_path_shape():
    expected = T(B(1, N("a", N("b", N("c", deleted=True)))))
    assert revtree.path(3, ["c", "b", "a"], deleted=True) == expected
    with pytest.raises(ValueError):
        revtree.path(1, [])
    with pytest.raises(ValueError):
        revtree.stem(T(ONE), 0)


# -- sync.revid


def test_new_rev_is_deterministic_and_well_formed():
    first = new_rev(None, {"name": "Ada", "_id": "x"}, False)
    assert first == new_rev(None, {"name": "Ada"}, False)  # "_" fields are not hashed
    assert re.fullmatch(r"1-[0-9a-f]{32}", first)
    second = new_rev(first, {"name": "Ada"}, False)
    assert re.fullmatch(r"2-[0-9a-f]{32}", second)
    assert second == new_rev(first, {"name": "Ada"}, False)
    assert second != first
    assert new_rev("41-abc", {}, False).startswith("42-")


def test_new_rev_depends_on_body_deleted_flag_and_parent():
    base = new_rev("1-abc", {"n": 1}, False)
    assert new_rev("1-abc", {"n": 2}, False) != base
    assert new_rev("1-abc", {"n": 1}, True) != base
    assert new_rev("1-abd", {"n": 1}, False) != base


@pytest.mark.parametrize("bad", ["", "abc", "0-abc", "1-", "1-ABC", "x-1", 5])
def test_parse_rev_rejects(bad):
    with pytest.raises(InvalidRev):
        parse_rev(bad)


def test_parse_rev_accepts():
    assert parse_rev("3-abc") == (3, "abc")
    assert parse_rev("12-" + "f" * 32) == (12, "f" * 32)
