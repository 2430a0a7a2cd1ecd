//! `report.html`: the summary table and every plot of a report in one self-contained page, for pasting
//! into a lab's notes. Nothing is loaded from elsewhere: the plots are embedded as SVG data URIs, the
//! styles and the few lines of script that sort the table (click a column header) are inline, and the
//! table is plain HTML that reads the same with JavaScript off.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine as _;

use super::compare::{lookup, Significance};
use super::plots::label;
use super::table_metrics;
use crate::fsutil;
use crate::sweep::summary::{Stat, Summary};

/// The page's file name in the report folder.
pub const REPORT_HTML: &str = "report.html";

/// Writes the page to `path` (atomically): `summary` as a table (with the comparison's columns when
/// there is one), then every SVG among `files` with its caption.
pub fn write(
    path: &Path,
    summary: &Summary,
    significance: Option<&Significance>,
    metric: &str,
    files: &[PathBuf],
) -> Result<()> {
    let page = render(summary, significance, metric, files)?;
    fsutil::write_atomic(path, page.as_bytes())
}

/// The page as a string.
pub fn render(
    summary: &Summary,
    significance: Option<&Significance>,
    metric: &str,
    files: &[PathBuf],
) -> Result<String> {
    let mut out = String::new();
    let n_runs: usize = summary
        .rows
        .iter()
        .map(|r| r.metrics.values().map(|s| s.n).max().unwrap_or(0))
        .sum();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>reprobe report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>reprobe report</h1>\n<p>{} settings, {n_runs} finished runs; plots of <code>{}</code>. \
         Values are mean ± sample std over the runs (seeds) of a setting. Click a column header to sort.</p>\n",
        summary.rows.len(),
        escape(metric)
    );
    if let Some(sig) = significance {
        let _ = writeln!(out, "<p>{}</p>", escape(&sig.description()));
    }
    out.push_str(&table(summary, significance));
    if let Some(sig) = significance {
        let notes = sig.all_notes();
        if !notes.is_empty() {
            out.push_str("<ul class=\"notes\">\n");
            for note in notes {
                let _ = writeln!(out, "<li>{}</li>", escape(&note));
            }
            out.push_str("</ul>\n");
        }
    }
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "svg"))
    {
        let svg = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        let caption = caption(&stem);
        let _ = writeln!(
            out,
            "<figure id=\"{}\"><img alt=\"{}\" src=\"data:image/svg+xml;base64,{}\">\
             <figcaption>{}</figcaption></figure>",
            escape(&stem),
            escape(&caption),
            base64::engine::general_purpose::STANDARD.encode(&svg),
            escape(&caption)
        );
    }
    let _ = write!(out, "<script>{SORT_SCRIPT}</script>\n</body>\n</html>\n");
    Ok(out)
}

/// The table: setting columns, n, the preferred metrics (mean ± std), then Δ, CI, t, df, p.
fn table(summary: &Summary, significance: Option<&Significance>) -> String {
    let metrics = table_metrics(summary);
    let mut out = String::from("<table class=\"sortable\">\n<thead><tr>");
    let keys: Vec<String> = if summary.keys.is_empty() {
        vec!["setting".into()]
    } else {
        summary.keys.clone()
    };
    let mut headers: Vec<String> = keys.clone();
    headers.push("n".into());
    headers.extend(metrics.iter().cloned());
    if let Some(sig) = significance {
        headers.extend(sig.headers());
    }
    for h in &headers {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (i, row) in summary.rows.iter().enumerate() {
        let baseline = significance.is_some_and(|s| s.baseline == i);
        out.push_str(if baseline {
            "<tr class=\"baseline\">"
        } else {
            "<tr>"
        });
        if summary.keys.is_empty() {
            cell(&mut out, &label(&row.setting), None);
        }
        for key in &summary.keys {
            let value = lookup(&row.setting, key);
            cell(&mut out, &value, value.parse::<f64>().ok());
        }
        let n = row.metrics.values().map(|s| s.n).max().unwrap_or(0);
        cell(&mut out, &n.to_string(), Some(n as f64));
        for m in &metrics {
            match row.metrics.get(m) {
                Some(s) => cell(&mut out, &mean_std(s), Some(s.mean)),
                None => cell(&mut out, "–", None),
            }
        }
        if let Some(sig) = significance {
            let comparison = &sig.rows[i];
            let keys = [
                comparison.delta.or((i == sig.baseline).then_some(0.0)),
                comparison.bootstrap.map(|b| b.low),
                comparison.welch.map(|w| w.t),
                comparison.welch.map(|w| w.df),
                comparison.welch.map(|w| w.p),
            ];
            for (text, key) in sig.cells(i).iter().zip(keys) {
                cell(&mut out, text, key);
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// A cell; `sort` is the number the script sorts it by (text otherwise).
fn cell(out: &mut String, text: &str, sort: Option<f64>) {
    match sort {
        Some(v) if v.is_finite() => {
            let _ = write!(
                out,
                "<td class=\"num\" data-sort=\"{v}\">{}</td>",
                escape(text)
            );
        }
        _ => {
            let _ = write!(out, "<td>{}</td>", escape(text));
        }
    }
}

fn mean_std(s: &Stat) -> String {
    match s.std {
        Some(std) => format!("{:.4} ± {std:.4}", s.mean),
        None => format!("{:.4}", s.mean),
    }
}

fn caption(stem: &str) -> String {
    match stem {
        "learning_curves" => "Learning curves (per epoch, mean ± std over seeds)".into(),
        "bars" => "Mean ± std per setting".into(),
        "attention_weights" => "Attention weights per encoder over epochs".into(),
        "truncation" => "Score over the layers kept".into(),
        "significance" => "Difference to the baseline with its 95 % paired-bootstrap CI".into(),
        other => other.replace('_', " "),
    }
}

/// `&`, `<`, `>`, `"` and `'` as entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; }
th { background: #f3f3f3; cursor: pointer; user-select: none; }
th[aria-sort=ascending]::after { content: ' \\25B2'; }
th[aria-sort=descending]::after { content: ' \\25BC'; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.baseline { background: #fff7d6; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
ul.notes { color: #555; font-size: 0.9em; }
";

/// Sorts a table by the clicked column: by `data-sort` numbers where cells have them, else by text; empty
/// cells last; a second click reverses.
const SORT_SCRIPT: &str = r#"
(function () {
  function key(row, col) {
    var c = row.cells[col];
    var v = c.getAttribute('data-sort');
    if (v !== null) return { num: parseFloat(v), text: '' };
    var t = c.textContent.trim();
    return { num: NaN, text: (t === '' || t === '\u2013') ? null : t };
  }
  function compare(a, b) {
    var am = isNaN(a.num) && a.text === null, bm = isNaN(b.num) && b.text === null;
    if (am || bm) return am === bm ? 0 : (am ? 1 : -1);
    if (!isNaN(a.num) && !isNaN(b.num)) return a.num - b.num;
    if (!isNaN(a.num)) return -1;
    if (!isNaN(b.num)) return 1;
    return a.text.localeCompare(b.text, undefined, { numeric: true });
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    heads.forEach(function (th, col) {
      th.tabIndex = 0;
      function sort() {
        var ascending = th.getAttribute('aria-sort') !== 'ascending';
        heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).map(function (r, i) {
          return { row: r, key: key(r, col), index: i };
        });
        rows.sort(function (x, y) {
          var missing = (isNaN(x.key.num) && x.key.text === null) || (isNaN(y.key.num) && y.key.text === null);
          var c = compare(x.key, y.key);
          if (!missing && !ascending) c = -c;
          return c || x.index - y.index;
        });
        rows.forEach(function (r) { body.appendChild(r.row); });
      }
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
    });
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
