#!/usr/bin/env python3
"""Writes the hand-made key/response pairs of the golden scorer fixtures.

Each case is a small CoNLL-2012 key file and response file under
crates/reprobe-metrics/tests/fixtures/scorer/hand/<case>.{key,response}; scorer_golden.sh then runs
the reference scorer on them. The cases are the worked examples of Pradhan et al. (2014, the test
suite of the reference scorer: TC-A ... TC-N) rebuilt from their descriptions, plus the edge cases of
the scorer's semantics (documents missing or extra, repeated mentions, boundaries, singletons).

Letters name one-word mentions: 'a' is word 0, 'b' word 1, ..., so "bc" is a cluster of the mentions
at words 1 and 2. Explicit spans are (start, end), inclusive.

Usage: python3 scripts/golden/scorer_cases.py OUT_DIR
"""
import os
import sys

NUM_WORDS = 30


def L(*clusters):
    """Clusters of one-word mentions from strings of letters."""
    return [[(ord(ch) - ord("a"), ord(ch) - ord("a")) for ch in c] for c in clusters]


def doc(name, clusters, num_words=NUM_WORDS, sentence_breaks=(10, 20)):
    return {"name": name, "clusters": clusters, "num_words": num_words, "breaks": sentence_breaks}


def cells(num_words, clusters):
    parts = [[] for _ in range(num_words)]
    for entity, cluster in enumerate(clusters):
        for start, end in cluster:
            if start == end:
                parts[start].append(f"({entity})")
            else:
                parts[start].append(f"({entity}")
                parts[end].append(f"{entity})")
    return ["|".join(p) if p else "-" for p in parts]


def render(docs):
    out = []
    for d in docs:
        name = d["name"]
        doc_id = name.split(";")[0].strip("()") if name.startswith("(") else name
        out.append(f"#begin document {name}\n")
        for word, cell in enumerate(cells(d["num_words"], d["clusters"])):
            if word in d["breaks"]:
                out.append("\n")
            out.append(f"{doc_id}\t0\t{word}\tw{word}\tNN\t-\t-\t-\t-\t-\t*\t{cell}\n")
        out.append("\n#end document\n")
    return "".join(out)


D = "(case); part 000"
KEY = L("a", "bc", "def")

CASES = {
    # --- Pradhan et al. 2014, test cases A (key {a}{bc}{def})
    "tc_a_01_perfect": ([doc(D, KEY)], [doc(D, KEY)]),
    "tc_a_02_missing": ([doc(D, KEY)], [doc(D, L("a", "de"))]),
    "tc_a_03_false_alarm": ([doc(D, KEY)], [doc(D, L("a", "bcx", "defy", "z"))]),
    "tc_a_04_missing_and_false_alarm": ([doc(D, KEY)], [doc(D, L("a", "bcx", "dy", "z"))]),
    # B = the words b..c (1, 2): overlaps b, different boundaries.
    "tc_a_05_overlap_aligned": (
        [doc(D, KEY)],
        [doc(D, [[(0, 0)], [(1, 1), (2, 2), (23, 23), (1, 2)], [(3, 3), (24, 24)], [(25, 25)]])],
    ),
    "tc_a_06_overlap_unaligned": (
        [doc(D, KEY)],
        [doc(D, [[(0, 0)], [(1, 1), (2, 2), (23, 23)], [(3, 3), (24, 24)], [(1, 2), (25, 25)]])],
    ),
    # B = b itself: a repeated mention in the same cluster, then in another cluster.
    "tc_a_07_duplicate_same_cluster": ([doc(D, KEY)], [doc(D, L("a", "bcxb", "dy", "z"))]),
    "tc_a_08_duplicate_other_cluster": ([doc(D, KEY)], [doc(D, L("a", "bcx", "dy", "bz"))]),
    "tc_a_09_duplicate_ten_times": ([doc(D, KEY)], [doc(D, L("a", "bcx", "dy", "bbbbbbbbbbz"))]),
    "tc_a_10_gold_mentions_singletons": ([doc(D, KEY)], [doc(D, L("a", "b", "c", "d", "e", "f"))]),
    "tc_a_11_gold_mentions_one_cluster": ([doc(D, KEY)], [doc(D, L("abcdef"))]),
    "tc_a_12_system_mentions_singletons": ([doc(D, KEY)], [doc(D, L("a", "x", "y", "c", "d", "e", "z"))]),
    "tc_a_13_system_mentions_one_cluster": ([doc(D, KEY)], [doc(D, L("axycdez"))]),
    # --- B, C: BLANC with predicted mentions (Luo et al. 2014)
    "tc_b_01": ([doc(D, L("ab", "cde"))], [doc(D, L("bcx", "de"))]),
    "tc_c_01": ([doc(D, L("ab", "cde", "fg"))], [doc(D, L("bcx", "de", "fg"))]),
    # --- D, E: Bagga & Baldwin's merges; F-L: Vilain et al.'s MUC examples
    "tc_d_01_merge_small": ([doc(D, L("abcde", "fg", "hijkl"))], [doc(D, L("abcde", "fghijkl"))]),
    "tc_e_01_merge_big": ([doc(D, L("abcde", "fg", "hijkl"))], [doc(D, L("abcdehijkl", "fg"))]),
    "tc_f_01": ([doc(D, L("abcd"))], [doc(D, L("ab", "cd"))]),
    "tc_g_01": ([doc(D, L("ab", "cd"))], [doc(D, L("abcd"))]),
    "tc_j_01": ([doc(D, L("abc"))], [doc(D, L("ac"))]),
    "tc_k_01": ([doc(D, L("bcdeghj"))], [doc(D, L("abc", "def", "ghi"))]),
    "tc_l_01": ([doc(D, L("abc", "defg"))], [doc(D, L("ab", "cd", "fgh"))]),
    # --- M: the key has only coreference links; N: only singletons
    "tc_m_01": ([doc(D, L("abcdef"))], [doc(D, L("abcdef"))]),
    "tc_m_02": ([doc(D, L("abcdef"))], [doc(D, L("a", "b", "c", "d", "e", "f"))]),
    "tc_m_03": ([doc(D, L("abcdef"))], [doc(D, L("ab", "cde", "f"))]),
    "tc_m_04": ([doc(D, L("abcdef"))], [doc(D, L("abcxyz"))]),
    "tc_m_05": ([doc(D, L("abcdef"))], [doc(D, L("a", "b", "c", "x", "y", "z"))]),
    "tc_m_06": ([doc(D, L("abcdef"))], [doc(D, L("ab", "cxy", "z"))]),
    "tc_n_01": ([doc(D, L("a", "b", "c", "d", "e", "f"))], [doc(D, L("a", "b", "c", "d", "e", "f"))]),
    "tc_n_02": ([doc(D, L("a", "b", "c", "d", "e", "f"))], [doc(D, L("abcdef"))]),
    "tc_n_03": ([doc(D, L("a", "b", "c", "d", "e", "f"))], [doc(D, L("ab", "cde", "f"))]),
    "tc_n_04": ([doc(D, L("a", "b", "c", "d", "e", "f"))], [doc(D, L("a", "b", "c", "x", "y", "z"))]),
    "tc_n_05": ([doc(D, L("a", "b", "c", "d", "e", "f"))], [doc(D, L("abcxyz"))]),
    "tc_n_06": ([doc(D, L("a", "b", "c", "d", "e", "f"))], [doc(D, L("ab", "cxy", "z"))]),
    # --- edge cases of the scorer's semantics
    "empty_response_document": ([doc(D, KEY)], [doc(D, [])]),
    "empty_key_document": ([doc(D, [])], [doc(D, L("ab", "c"))]),
    "both_empty": ([doc(D, [])], [doc(D, [])]),
    "document_missing_from_response": (
        [doc("(d1); part 000", KEY), doc("(d2); part 000", L("ab", "cd"))],
        [doc("(d1); part 000", KEY)],
    ),
    "extra_document_in_response": (
        [doc("(d1); part 000", KEY)],
        [doc("(d1); part 000", KEY), doc("(d9); part 000", L("ab", "cd"))],
    ),
    "document_order_and_parts": (
        [doc("(d); part 000", L("ab", "cd")), doc("(d); part 001", L("abc")), doc("(e); part 000", L("ab"))],
        [doc("(e); part 000", L("a", "b")), doc("(d); part 001", L("ab", "c")), doc("(d); part 000", L("abcd"))],
    ),
    "boundary_errors": (
        [doc(D, [[(0, 1), (5, 7)], [(10, 12), (15, 15), (20, 24)]])],
        [doc(D, [[(0, 2), (5, 7)], [(11, 12), (15, 15), (20, 23)]])],
    ),
    "nested_mentions": (
        [doc(D, [[(0, 5), (2, 3), (8, 8)], [(2, 5), (10, 12)], [(0, 0), (11, 12)]])],
        [doc(D, [[(0, 5), (2, 3)], [(2, 5), (10, 12), (8, 8)], [(0, 0), (11, 11)]])],
    ),
    "nested_same_entity": (
        [doc(D, [[(0, 5), (2, 5), (2, 3), (9, 9)], [(6, 7), (12, 13)]])],
        [doc(D, [[(0, 5), (2, 5), (9, 9)], [(2, 3), (6, 7), (12, 13)]])],
    ),
    "repeated_key_span_across_clusters": (
        [doc(D, [[(0, 0), (4, 6), (9, 9)], [(4, 6), (12, 12), (15, 16)]])],
        [doc(D, [[(0, 0), (4, 6), (9, 9)], [(4, 6), (12, 12), (15, 16)]])],
    ),
    "repeated_key_span_same_cluster": (
        [doc(D, [[(0, 0), (4, 6), (4, 6), (9, 9)], [(12, 12), (15, 16)]])],
        [doc(D, [[(0, 0), (4, 6), (9, 9)], [(12, 12), (15, 16), (4, 6)]])],
    ),
    "repeated_response_first_cluster_wins": (
        [doc(D, L("abc", "def"))],
        [doc(D, L("abd", "def", "ce"))],
    ),
    "repeated_twinless_spans_stay": (
        [doc(D, L("abc", "def"))],
        [doc(D, L("abx", "xde", "x", "fyy"))],
    ),
    "cluster_emptied_by_repeats": (
        [doc(D, L("abc", "de"))],
        [doc(D, L("abc", "ab", "de"))],
    ),
    "ceaf_optimal_not_greedy": ([doc(D, L("abc", "d"))], [doc(D, L("abd", "c"))]),
    "ceaf_equal_alternatives": ([doc(D, L("ab", "cd"))], [doc(D, L("ac", "bd"))]),
    "many_repeats_in_one_file": (
        [doc("(r1); part 000", L("abc", "def")), doc("(r2); part 000", L("ab", "cd"))],
        [doc("(r1); part 000", L("abc", "adef", "bd")), doc("(r2); part 000", L("abcd", "a", "b", "c"))],
    ),
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name, (key, response) in CASES.items():
        with open(os.path.join(out_dir, f"{name}.key"), "w") as f:
            f.write(render(key))
        with open(os.path.join(out_dir, f"{name}.response"), "w") as f:
            f.write(render(response))
    print(f"{len(CASES)} cases written to {out_dir}")


if __name__ == "__main__":
    main()
