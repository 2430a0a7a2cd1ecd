#!/usr/bin/env python3
"""Writes the project's own tiny coreference corpus (data/tiny/) in the CoNLL-2012 `*_gold_conll` layout.

The documents are short stories generated from templates written for this project (no text is taken from
elsewhere): two or three people, an object and a place, mentioned by name, by definite description and by
pronoun, with the coreference brackets of the OntoNotes scheme (no singletons). A few documents are
dialogues with the speaker column filled. The generator is deterministic (fixed seed), so the committed files
can be re-made byte for byte:

    python3 scripts/make_tiny_corpus.py [OUT_DIR]      # default: data/tiny

It is a smoke-test corpus for the quick start and the tests, not a benchmark.
"""
import random
import sys
from pathlib import Path

PEOPLE = [
    ("Maria", "Lopez", "f"), ("John", "Carter", "m"), ("Aisha", "Khan", "f"), ("Peter", "Novak", "m"),
    ("Lena", "Berg", "f"), ("Tom", "Walsh", "m"), ("Sofia", "Rossi", "f"), ("David", "Chen", "m"),
    ("Emma", "Stone", "f"), ("Lucas", "Meyer", "m"), ("Nora", "Haddad", "f"), ("Omar", "Farouk", "m"),
    ("Clara", "Weiss", "f"), ("Hugo", "Martin", "m"), ("Ines", "Costa", "f"), ("Felix", "Brandt", "m"),
]
OBJECTS = [
    ("car", "red"), ("book", "old"), ("bicycle", "blue"), ("violin", "small"), ("lamp", "green"),
    ("laptop", "new"), ("painting", "large"), ("boat", "wooden"), ("camera", "cheap"), ("piano", "black"),
]
PLACES = ["Boston", "Lisbon", "Vienna", "Oslo", "Cairo", "Quebec", "Dublin", "Kyoto", "Lima", "Zagreb"]
JOBS = ["teacher", "doctor", "painter", "pilot", "baker", "lawyer", "farmer", "nurse"]


class Doc:
    def __init__(self):
        self.sentences = []  # list of (words, brackets per word, speaker)
        self.words = None
        self.marks = None
        self.speaker = "-"

    def start(self, speaker="-"):
        self.words, self.marks, self.speaker = [], [], speaker

    def add(self, text, entity=None, inner=()):
        toks = text.split()
        start = len(self.words)
        for t in toks:
            self.words.append(t)
            self.marks.append([])
        if entity is not None:
            entity.mentions.append((len(self.sentences), start, start + len(toks) - 1))
        for (i, j, ent) in inner:
            ent.mentions.append((len(self.sentences), start + i, start + j))

    def end(self):
        self.sentences.append((self.words, self.marks, self.speaker))


class Entity:
    def __init__(self, kind, **kw):
        self.kind = kind
        self.mentions = []
        self.__dict__.update(kw)


def person_refs(p, rng, first):
    if first:
        return f"{p.first} {p.last}" if rng.random() < 0.6 else f"the {p.job} {p.first} {p.last}"
    return rng.choice([p.first, p.first, f"{p.first} {p.last}", f"the {p.job}"])


def subj(p):
    return "she" if p.gender == "f" else "he"


def obj(p):
    return "her" if p.gender == "f" else "him"


def poss(p):
    return "her" if p.gender == "f" else "his"


def story(rng, idx, dialogue):
    d = Doc()
    a, b = rng.sample(PEOPLE, 2)
    pa = Entity("p", first=a[0], last=a[1], gender=a[2], job=rng.choice(JOBS))
    pb = Entity("p", first=b[0], last=b[1], gender=b[2], job=rng.choice(JOBS))
    o = rng.choice(OBJECTS)
    ob = Entity("o", noun=o[0], adj=o[1])
    place = Entity("l", name=rng.choice(PLACES))
    same_gender = pa.gender == pb.gender
    seen = set()

    def ref(p, role="subj"):
        first = id(p) not in seen
        seen.add(id(p))
        # Pronouns only when unambiguous: the other person has another gender.
        if not first and not same_gender and rng.random() < 0.55:
            return subj(p) if role == "subj" else obj(p)
        return person_refs(p, rng, first)

    def owner(p):
        # A possessive inside the object's mention: "her car" / "Maria 's car" (nested mentions).
        seen.add(id(p))
        return poss(p) if not same_gender else f"{p.first} 's"

    def cap(s):
        return s[0].upper() + s[1:]

    def sentence(parts, speaker="-"):
        d.start(speaker)
        for part in parts:
            d.add(*part)
        d.end()

    speakers = (f"{pa.first}_{pa.last}", f"{pb.first}_{pb.last}") if dialogue else ("-", "-")
    sentence([(cap(ref(pa)), pa), ("lived in", None), (place.name, place), (".", None)], speakers[0])
    sentence([("One day ,", None), (ref(pa), pa), ("bought", None), (f"a {ob.adj} {ob.noun}", ob),
              ("from", None), (ref(pb, "obj"), pb), (".", None)], speakers[0])
    templates = [
        lambda: [(cap(ref(pb)), pb), ("said that", None), (f"the {ob.noun}", ob), ("was very old .", None)],
        lambda: [(cap(ref(pa)), pa), ("took", None), ("it", ob), ("home to", None), (place.name, place), (".", None)],
        lambda: [(cap(ref(pa)), pa), ("showed", None), (f"the {ob.adj} {ob.noun}", ob), ("to", None),
                 (ref(pb, "obj"), pb), (".", None)],
        lambda: [(cap(ref(pb)), pb), ("had never been to", None), (place.name, place), ("before .", None)],
        lambda: [(cap(ref(pb)), pb), ("called", None), (ref(pa, "obj"), pa), ("the next morning .", None)],
        lambda: [("The weather in", None), (place.name, place), ("was cold , so", None), (ref(pa), pa),
                 ("stayed inside .", None)],
        lambda: [(cap(ref(pa)), pa), ("cleaned", None), (f"the {ob.noun}", ob), ("carefully .", None)],
        lambda: [(cap(ref(pb)), pb), ("asked whether", None), (f"the {ob.noun}", ob), ("still worked .", None)],
        lambda: (lambda w: [(cap(ref(pb)), pb), ("admired", None),
                            (f"{w} {ob.noun}", ob, [(0, len(w.split()) - 1, pa)]), (".", None)])(owner(pa)),
        lambda: [("Everyone in", None), (place.name, place), ("knew", None), (ref(pb, "obj"), pb), (".", None)],
    ]
    for k, t in enumerate(rng.sample(templates, rng.randint(4, 7))):
        sentence(t(), speakers[(k + 1) % 2])
    # Annotate: entities with at least two mentions form clusters (no singletons, as in OntoNotes).
    cid = 0
    for ent in (pa, pb, ob, place):
        if len(ent.mentions) < 2:
            continue
        for (s, start, end) in ent.mentions:
            marks = d.sentences[s][1]
            if start == end:
                marks[start].append(f"({cid})")
            else:
                marks[start].append(f"({cid}")
                marks[end].append(f"{cid})")
        cid += 1
    return d


def write(path, docs, prefix):
    lines = []
    for i, d in enumerate(docs):
        doc_id = f"{prefix}_{i:03d}"
        lines.append(f"#begin document ({doc_id}); part 000")
        for words, marks, speaker in d.sentences:
            for w_idx, (w, m) in enumerate(zip(words, marks)):
                coref = "|".join(m) if m else "-"
                cols = [doc_id, "0", str(w_idx), w, "-", "-", "-", "-", "-", speaker, "*", coref]
                lines.append("\t".join(cols))
            lines.append("")
        lines.append("#end document")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "data/tiny")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261125)
    train = [story(rng, i, dialogue=(i % 5 == 0)) for i in range(60)]
    dev = [story(rng, i, dialogue=(i % 5 == 0)) for i in range(15)]
    write(out / "train.english.v4_gold_conll", train, "tiny_train")
    write(out / "dev.english.v4_gold_conll", dev, "tiny_dev")
    print(f"wrote {len(train)} train and {len(dev)} dev documents to {out}")


if __name__ == "__main__":
    main()
