#!/usr/bin/env python3
"""Checks a page of `reprobe view` as Chromium built it (its DOM, dumped with --dump-dom) against the
files it was made from, read here by a parser of their own (CoNLL-2012 brackets, IOB2 columns).

  view_check.py coref DOM.html KEY.conll PRED.conll [--static]
  view_check.py ner   DOM.html KEY.bio   PRED.bio   [--static]
  view_check.py png   SHOT.png MIN_BYTES

For every document (coref) or sentence (NER) of the files, every mention or entity must be in the page,
in the right column (key first, prediction second), on the right words, and grouped as the file groups
it: the clusters as sets of spans (coref) or the entity types (NER). The span of an element is found by
counting the words of the text before it, as a reader sees them. Without --static, DOM.html is
Chromium's DOM after the page's script ran (--dump-dom); with --static it is the page's own HTML, what a
browser shows with JavaScript off (headless Chromium dumps nothing with scripts off). Exits 1 with a
message on the first difference.
"""
import re
import struct
import sys
from collections import defaultdict
from html.parser import HTMLParser

VOID = {"meta", "br", "img", "input", "hr", "link", "col", "wbr", "source"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []


# Start tags that close open elements: the end tags of table cells and rows are optional in HTML.
IMPLIED_ENDS = {"td": {"td", "th"}, "th": {"td", "th"}, "tr": {"td", "th", "tr"}}
for _section in ("thead", "tbody", "tfoot"):
    IMPLIED_ENDS[_section] = {"td", "th", "tr", "thead", "tbody", "tfoot"}


class TreeBuilder(HTMLParser):
    """A DOM tree: of Chromium's serialization (every element closed), or of the page's own HTML
    (cells and rows closed as HTML implies)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        while self.cur.tag in IMPLIED_ENDS.get(tag, ()):
            self.cur = self.cur.parent
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_endtag(self, tag):
        node = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def elements(node, tag):
    for child in node.children:
        if isinstance(child, Node):
            if child.tag == tag:
                yield child
            yield from elements(child, tag)


def text(node):
    return "".join(c if isinstance(c, str) else text(c) for c in node.children)


def marks_of(cells):
    """[(start, end, group)] of the marked spans in `cells`, words counted on from cell to cell."""
    marks, count, pending = [], 0, {}  # pending: group -> start of a mark cut into pieces

    def walk(node):
        nonlocal count
        for child in node.children:
            if isinstance(child, str):
                count += len(child.split())
                continue
            start = count
            walk(child)
            if child.tag != "i" or "data-c" not in child.attrs:
                continue
            classes = child.attrs.get("class", "").split()
            group = child.attrs["data-c"]
            if "c" in classes:  # a continuation piece: its mark started earlier
                start = pending.pop(group)
            if "o" in classes:  # not the last piece
                pending[group] = start
            else:
                marks.append((start, count - 1, group))

    for cell in cells:
        walk(cell)
    if pending:
        fail(f"marks cut into pieces never end: {pending}")
    return marks


def text_rows(section):
    """The cells of every row of the section's text table (`table.tx`), header rows left out."""
    rows = []
    for table in elements(section, "table"):
        if "tx" in table.attrs.get("class", "").split():
            for row in elements(table, "tr"):
                cells = [c for c in row.children if isinstance(c, Node) and c.tag == "td"]
                if cells:
                    rows.append(cells)
    return rows


def fail(message):
    print(f"view_check: FAIL: {message}")
    sys.exit(1)


def read_conll(path):
    """{doc_key: (number of words, [set of (start, end)] clusters)} from the last column's brackets."""
    docs = {}
    name, words, clusters, open_spans = None, 0, defaultdict(set), defaultdict(list)
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        m = re.match(r"#begin document \((.*)\); part (\d+)", line)
        if m:
            name, words = f"{m.group(1)}_{int(m.group(2))}", 0
            clusters, open_spans = defaultdict(set), defaultdict(list)
        elif line.startswith("#end document"):
            docs[name] = (words, [clusters[k] for k in clusters])
        elif line.strip():
            cell = line.split()[-1]
            for part in cell.split("|") if cell != "-" else []:
                m = re.fullmatch(r"\((\d+)\)", part)
                if m:
                    clusters[m.group(1)].add((words, words))
                elif part.startswith("("):
                    open_spans[part[1:]].append(words)
                else:
                    clusters[part[:-1]].add((open_spans[part[:-1]].pop(), words))
            words += 1
    return docs


def read_entities(path):
    """[[(start, end, type)]] per sentence of an IOB2 column file (B-X starts, I-X continues)."""
    sentences, current, words = [], [], 0
    for line in open(path, encoding="utf-8").read().split("\n") + [""]:
        if not line.strip():
            if words:
                sentences.append(current)
            current, words = [], 0
            continue
        tag = line.split()[-1]
        continues = current and current[-1][1] == words - 1 and current[-1][2] == tag[2:]
        if tag.startswith("I-") and continues:
            current[-1][1] = words
        elif tag != "O":
            current.append([words, words, tag[2:]])
        words += 1
    return [[tuple(e) for e in s] for s in sentences]


def sections(dom_path, static):
    builder = TreeBuilder()
    builder.feed(open(dom_path, encoding="utf-8").read())
    body = next(elements(builder.root, "body"))
    if not static and "data-ready" not in body.attrs:
        fail("the page's script did not run")
    found = [s for s in elements(body, "section") if "doc" in s.attrs.get("class", "")]
    if not found:
        fail(f"{dom_path}: no document section")
    return body, found


def check_coref(dom, key_path, pred_path, static):
    body, found = sections(dom, static)
    key, pred = read_conll(key_path), read_conll(pred_path)
    shown = {}
    for section in found:
        title = text(next(elements(section, "h2")))
        rows = text_rows(section)
        shown[title.split(" · ", 1)[1].strip()] = [marks_of([r[c] for r in rows]) for c in range(2)]
    mentions = 0
    for name, (_, pred_clusters) in pred.items():
        if name not in shown:
            fail(f"document {name} is not in the page")
        columns = shown[name]
        for col, clusters in ((0, key[name][1]), (1, pred_clusters)):
            marks = columns[col]
            groups = defaultdict(set)
            for start, end, group in marks:
                groups[group].add((start, end))
            want = sorted(sorted(c) for c in clusters)
            got = sorted(sorted(c) for c in groups.values())
            if want != got:
                side = "key" if col == 0 else "predicted"
                fail(f"{name}, {side} column: clusters {got}, the file has {want}")
            if len(marks) != sum(len(c) for c in clusters):
                fail(f"{name}: {len(marks)} marked spans for {sum(len(c) for c in clusters)} mentions")
            mentions += len(marks)
    timing = "" if static else f"; ready {body.attrs['data-ready']} ms, load {body.attrs.get('data-loaded', '?')} ms"
    print(f"view_check: ok: {len(pred)} documents, {mentions} mentions with their clusters in the DOM"
          f"{' (JavaScript off)' if static else ''}{timing}")


def check_ner(dom, key_path, pred_path, static):
    _, found = sections(dom, static)
    key, pred = read_entities(key_path), read_entities(pred_path)
    rows = [cells for section in found for cells in text_rows(section)]
    if len(rows) != len(pred):
        fail(f"{len(rows)} sentences in the page, {len(pred)} in {pred_path}")
    entities = 0
    for i, cells in enumerate(rows):
        for col, want in ((0, key[i]), (1, pred[i])):
            got = sorted(marks_of([cells[col]]))
            if got != sorted(want):
                side = "key" if col == 0 else "predicted"
                fail(f"sentence {i + 1}, {side} column: {got}, the file has {sorted(want)}")
            entities += len(got)
    print(f"view_check: ok: {len(pred)} sentences, {entities} entities with their types in the DOM"
          f"{' (JavaScript off)' if static else ''}")


def check_png(path, min_bytes):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    if len(data) < min_bytes:
        fail(f"{path}: {len(data)} bytes, under {min_bytes}: the screenshot looks blank")
    print(f"view_check: ok: screenshot {path} {width}x{height}, {len(data) // 1024} KB")


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    static = "--static" in args
    args = [a for a in args if a != "--static"]
    if mode == "coref":
        check_coref(*args, static)
    elif mode == "ner":
        check_ner(*args, static)
    elif mode == "png":
        check_png(args[0], int(args[1]))
    else:
        fail(f"unknown mode {mode}")
