#!/usr/bin/env bash
# `reprobe view` in a real browser. Renders the fixture pages (crates/reprobe/tests/fixtures/view: two
# coreference documents with every kind of error, two NER sentences), opens them in headless Chromium
# (and reads them as a browser with JavaScript off gets them), checks through the DOM (scripts/view_check.py) that every mention and
# entity of the fixtures is there on its words with its cluster or type, and takes a screenshot.
# Chromium comes from the Debian packages (installed when /usr/bin/chromium is missing; needs root).
#
#   bash scripts/view_check.sh [OUT_DIR]                        the check; pages and screenshot in OUT_DIR
#   bash scripts/view_check.sh --screenshot PAGE.html N OUT.png [WIDTH,HEIGHT]
#                                                               document N of a page, alone under its table
#   bash scripts/view_check.sh --timing PAGE.html                when the page is ready and loaded (ms)
#
# REPROBE_BIN names the binary (default target/debug/reprobe, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "view_check: installing chromium from the Debian packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/view_check.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Headless, no network wanted (the page must need none), a profile of its own.
chrome() {
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --disable-extensions --user-data-dir="$work/profile" --host-resolver-rules="MAP * ~NOTFOUND" \
    "$@" 2>>"$work/chromium.log"
}
url() { echo "file://$(realpath "$1")${2:-}"; }

screenshot() { # PAGE N OUT.png [WIDTH,HEIGHT]
  chrome --window-size="${4:-1400,1000}" --screenshot="$3" "$(url "$1" "#doc=$2")" >/dev/null
}
timing() { # PAGE
  chrome --dump-dom "$(url "$1")" | grep -o 'data-ready="[0-9]*"\|data-loaded="[0-9]*"' | tr '\n' ' '
  echo "($(du -k "$1" | cut -f1) KB: $1)"
}

case "${1:-}" in
  --screenshot) screenshot "$2" "$3" "$4" "${5:-}"; python3 scripts/view_check.py png "$4" 20000; exit ;;
  --timing) timing "$2"; exit ;;
esac

out=${1:-$work/out}
mkdir -p "$out"
bin=${REPROBE_BIN:-target/debug/reprobe}
[ -x "$bin" ] || cargo build -p reprobe
fixtures=crates/reprobe/tests/fixtures/view

"$bin" view "$fixtures/pred.conll" --key "$fixtures/key.conll" --out "$out/coref.html" --title "view fixture"
chrome --dump-dom "$(url "$out/coref.html")" >"$out/coref.dom.html"
python3 scripts/view_check.py coref "$out/coref.dom.html" "$fixtures/key.conll" "$fixtures/pred.conll"
# JavaScript off: the page's own HTML holds every mention (headless Chromium dumps nothing without scripts).
python3 scripts/view_check.py coref "$out/coref.html" "$fixtures/key.conll" "$fixtures/pred.conll" --static

"$bin" view "$fixtures/ner_pred.bio" --key "$fixtures/ner_key.bio" --out "$out/ner.html" --title "view fixture (NER)"
chrome --dump-dom "$(url "$out/ner.html")" >"$out/ner.dom.html"
python3 scripts/view_check.py ner "$out/ner.dom.html" "$fixtures/ner_key.bio" "$fixtures/ner_pred.bio"

screenshot "$out/coref.html" 0 "$out/coref.png" 1200,700
python3 scripts/view_check.py png "$out/coref.png" 20000
echo "view_check: passed (pages and screenshot in $out)"
