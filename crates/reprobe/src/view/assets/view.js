// reprobe view: sorts the table of documents, highlights a cluster (or entity type) on a click, shows
// one side or both. The page reads without it.
(function () {
  'use strict';

  // Sorting: a click on a header of a `sortable` table sorts its body by that column (numbers as numbers).
  function sortKey(row, col) {
    var text = row.cells[col].textContent.trim();
    var n = parseFloat(text);
    return isNaN(n) ? text.toLowerCase() : n;
  }
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () {
      var table = th.closest('table');
      var body = table.tBodies[0];
      var col = th.cellIndex;
      var dir = th.dataset.dir === 'desc' ? 'asc' : 'desc';
      table.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = dir;
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = sortKey(a, col), y = sortKey(b, col);
        var c = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === 'number' ? -1 : 1);
        return dir === 'asc' ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });

  // The word span [first, last] of every marked element of one column of a section's text table.
  var spanCache = new Map();
  function wordSpans(section, col) {
    var cacheKey = section.id + ':' + col;
    if (spanCache.has(cacheKey)) return spanCache.get(cacheKey);
    var spans = new Map();
    var count = 0;
    function walk(node) {
      for (var n = node.firstChild; n; n = n.nextSibling) {
        if (n.nodeType === 3) {
          var t = n.data.trim();
          if (t) count += t.split(/\s+/).length;
        } else if (n.nodeType === 1) {
          var start = count;
          walk(n);
          if (n.tagName === 'I') spans.set(n, [start, count - 1]);
        }
      }
    }
    section.querySelectorAll('table.tx tr').forEach(function (row) {
      var cell = row.cells[col];
      if (cell && cell.tagName === 'TD') walk(cell);
    });
    spanCache.set(cacheKey, spans);
    return spans;
  }

  function clearHighlight() {
    document.querySelectorAll('.hl,.hl2').forEach(function (e) { e.classList.remove('hl', 'hl2'); });
  }

  // Highlights every element of `group` in column `col`, and in the other columns the elements with
  // the same word spans.
  function highlight(section, col, group) {
    var own = wordSpans(section, col);
    var wanted = {};
    own.forEach(function (span, el) {
      if (el.dataset.c === group) {
        el.classList.add('hl');
        wanted[span[0] + ':' + span[1]] = true;
      }
    });
    var cols = section.querySelector('table.tx tr').cells.length;
    for (var other = 0; other < cols; other++) {
      if (other === col) continue;
      wordSpans(section, other).forEach(function (span, el) {
        if (wanted[span[0] + ':' + span[1]]) el.classList.add('hl2');
      });
    }
  }

  document.addEventListener('click', function (ev) {
    var el = ev.target.closest('[data-c]');
    var section = el && el.closest('section');
    if (!section) return;
    var col = el.tagName === 'I' ? el.closest('td').cellIndex : +el.dataset.col;
    var again = el.classList.contains('hl');
    clearHighlight();
    if (!again) highlight(section, col, el.dataset.c);
    if (el.tagName === 'A') ev.preventDefault();
  });

  // Tooltips of errors, written on first hover (the page stays small).
  var noun = document.body.dataset.task === 'ner' ? ' entity' : ' mention';
  var titles = {
    w: 'wrong link: no earlier mention of its predicted cluster is coreferent',
    t: 'wrong type',
    b: 'wrong boundary'
  };
  document.addEventListener('mouseover', function (ev) {
    var el = ev.target.closest('i[data-c]');
    if (!el || el.title) return;
    var cell = el.closest('td');
    var keySide = document.getElementById('ctl') && cell && cell.cellIndex === 0;
    var what = document.body.dataset.task === 'ner' ? el.dataset.c : 'cluster ' + el.dataset.c;
    var error = el.classList.contains('x') ? (keySide ? 'missed' : 'spurious') + noun
      : ['w', 't', 'b'].filter(function (c) { return el.classList.contains(c); }).map(function (c) { return titles[c]; })[0];
    el.title = error ? what + ': ' + error : what;
  });

  // Showing the key, the prediction or both.
  var ctl = document.getElementById('ctl');
  if (ctl) {
    ctl.hidden = false;
    ctl.addEventListener('click', function (ev) {
      var b = ev.target.closest('button');
      if (!b) return;
      document.body.classList.remove('only-key', 'only-pred');
      if (b.dataset.show !== 'both') document.body.classList.add('only-' + b.dataset.show);
      ctl.querySelectorAll('button').forEach(function (x) { x.classList.toggle('on', x === b); });
    });
  }
  // FILE.html#doc=N shows document (or NER section) N alone, under the table.
  function showOnly() {
    var m = /^#doc=(\d+)$/.exec(location.hash);
    document.querySelectorAll('section.doc').forEach(function (s) {
      s.hidden = m !== null && s.id !== 'd' + m[1];
    });
  }
  showOnly();
  window.addEventListener('hashchange', showOnly);

  // When the page was ready, in ms since navigation started (read by scripts/view_check.sh).
  document.body.dataset.ready = String(Math.round(performance.now()));
  window.addEventListener('load', function () {
    document.body.dataset.loaded = String(Math.round(performance.now()));
  });
})();
