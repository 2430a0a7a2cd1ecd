//! The reference scorer's own test suite (`test/` of conll/reference-coreference-scorers): its cases
//! and expected values read from `CorefMetricTestConfig.pm` as committed, the key/response pair of each
//! case, and the comparison its `test.pl` makes. Shared by `tests/reference_suite.rs` (the library, as
//! `reprobe score` reads and scores) and `crates/reprobe/tests/score.rs` (the binary), through `#[path]`.
//!
//! See `tests/fixtures/reference_scorer_suite/README.md` for where each file comes from.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The suite's tolerance: `test.pl` passes a metric when the summed absolute difference of recall,
/// precision and F1 from the expected values is below 1e-4.
pub const TOLERANCE: f64 = 1e-4;

/// The fixtures folder of `reprobe-metrics`.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("reprobe-metrics")
        .join("tests")
        .join("fixtures")
}

/// The suite's folder.
pub fn suite_dir() -> PathBuf {
    fixtures().join("reference_scorer_suite")
}

/// One test case of `CorefMetricTestConfig.pm`.
#[derive(Debug, Clone)]
pub struct Case {
    /// `id`, e.g. `A1`.
    pub id: String,
    /// `key_file`, relative to the suite's `test/` (e.g. `DataFiles/TC-A.key`).
    pub key_file: String,
    /// `response_file`, relative to the suite's `test/`.
    pub response_file: String,
    /// `allow_multi_tag => 1`: the expectations are those of a later scorer's multi-tagging mode.
    pub multi_tag: bool,
    /// Metric name → expected [recall, precision, F1], in file order.
    pub expected: Vec<(String, [f64; 3])>,
}

/// Where a case's files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Both files are the suite's own (`test/DataFiles/`).
    Original,
    /// A stand-in listed in `reconstructed/pairs.tsv`.
    StandIn,
}

/// Removes `# ...` comments (the file has no `#` inside strings).
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of the string value of `key => "..."` in `block`.
fn string_value(block: &str, key: &str) -> Option<String> {
    let pos = block.find(&format!("{key} =>"))?;
    let rest = &block[pos..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(rest[start..end].to_string())
}

/// Every case of the committed `CorefMetricTestConfig.pm`, in file order.
pub fn cases() -> Vec<Case> {
    let path = suite_dir().join("test/CorefMetricTestConfig.pm");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let text = strip_comments(&text);
    let body = &text[text.find("our @TestCases = (").expect("@TestCases")..];
    let mut cases = Vec::new();
    // Each case starts at `{ id =>`.
    let starts: Vec<usize> = body.match_indices("{ id =>").map(|(i, _)| i).collect();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(body.len());
        let block = &body[start..end];
        let id = string_value(block, "id").expect("id");
        let key_file = string_value(block, "key_file").expect("key_file");
        let response_file = string_value(block, "response_file").expect("response_file");
        let multi_tag = block.contains("allow_multi_tag => 1");
        let metrics_at = block.find("expected_metrics =>").expect("expected_metrics");
        let mut rest = &block[metrics_at..];
        let mut expected = Vec::new();
        // `"name" => [e1, e2, e3]`
        while let Some(q) = rest.find('"') {
            let name_end = q + 1 + rest[q + 1..].find('"').expect("closing quote");
            let name = rest[q + 1..name_end].to_string();
            let open = name_end + rest[name_end..].find('[').expect("[");
            let close = open + rest[open..].find(']').expect("]");
            let values: Vec<f64> = rest[open + 1..close]
                .split(',')
                .map(|e| eval(e).unwrap_or_else(|err| panic!("{id} {name}: {err} in {e:?}")))
                .collect();
            assert_eq!(values.len(), 3, "{id} {name}: [recall, precision, F1]");
            expected.push((name, [values[0], values[1], values[2]]));
            rest = &rest[close + 1..];
        }
        cases.push(Case {
            id,
            key_file,
            response_file,
            multi_tag,
            expected,
        });
    }
    cases
}

/// Evaluates a Perl arithmetic expression of the .pm (numbers, `+ - * /`, parentheses).
pub fn eval(expr: &str) -> Result<f64, String> {
    let tokens: Vec<char> = expr.chars().filter(|c| !c.is_whitespace()).collect();
    let mut pos = 0;
    let value = sum(&tokens, &mut pos)?;
    if pos != tokens.len() {
        return Err(format!("unexpected {:?}", tokens[pos]));
    }
    Ok(value)
}

fn sum(t: &[char], pos: &mut usize) -> Result<f64, String> {
    let mut value = product(t, pos)?;
    while let Some(&op) = t.get(*pos).filter(|c| **c == '+' || **c == '-') {
        *pos += 1;
        let rhs = product(t, pos)?;
        value = if op == '+' { value + rhs } else { value - rhs };
    }
    Ok(value)
}

fn product(t: &[char], pos: &mut usize) -> Result<f64, String> {
    let mut value = atom(t, pos)?;
    while let Some(&op) = t.get(*pos).filter(|c| **c == '*' || **c == '/') {
        *pos += 1;
        let rhs = atom(t, pos)?;
        value = if op == '*' { value * rhs } else { value / rhs };
    }
    Ok(value)
}

fn atom(t: &[char], pos: &mut usize) -> Result<f64, String> {
    match t.get(*pos) {
        Some('(') => {
            *pos += 1;
            let value = sum(t, pos)?;
            if t.get(*pos) != Some(&')') {
                return Err("missing )".into());
            }
            *pos += 1;
            Ok(value)
        }
        Some('-') => {
            *pos += 1;
            Ok(-atom(t, pos)?)
        }
        Some(c) if c.is_ascii_digit() || *c == '.' => {
            let start = *pos;
            while t.get(*pos).is_some_and(|c| c.is_ascii_digit() || *c == '.') {
                *pos += 1;
            }
            let text: String = t[start..*pos].iter().collect();
            text.parse().map_err(|e| format!("{text}: {e}"))
        }
        other => Err(format!("unexpected {other:?}")),
    }
}

/// The stand-ins of `reconstructed/pairs.tsv`: case id → (key, response), paths under [`fixtures`].
fn stand_ins() -> BTreeMap<String, (PathBuf, PathBuf)> {
    let path = suite_dir().join("reconstructed/pairs.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "{l:?}");
            (
                cols[0].to_string(),
                (fixtures().join(cols[1]), fixtures().join(cols[2])),
            )
        })
        .collect()
}

/// The key and response files of `case`: the suite's own when both are in `test/`, else its stand-in.
pub fn files(case: &Case) -> (PathBuf, PathBuf, Source) {
    let test = suite_dir().join("test");
    let (key, response) = (test.join(&case.key_file), test.join(&case.response_file));
    if key.is_file() && response.is_file() {
        return (key, response, Source::Original);
    }
    let (key, response) = stand_ins()
        .remove(&case.id)
        .unwrap_or_else(|| panic!("case {}: neither its files nor a stand-in", case.id));
    assert!(key.is_file(), "{}", key.display());
    assert!(response.is_file(), "{}", response.display());
    (key, response, Source::StandIn)
}

/// Raw counts of one pair, as the reference prints them: [recall num, recall den, precision num,
/// precision den] per metric (`muc`, `bcub`, `ceafm`, `ceafe`, `mentions`), and BLANC's two sides.
#[derive(Debug, Clone, Default)]
pub struct PairCounts {
    /// Metric name → counts.
    pub metrics: BTreeMap<String, [f64; 4]>,
    /// BLANC, coreference links.
    pub blanc_coref: [f64; 4],
    /// BLANC, non-coreference links.
    pub blanc_noncoref: [f64; 4],
}

/// `RPFFromCounts` of the suite's `CorefMetricTest.pm`: -1 for a zero denominator.
fn rpf_raw(c: [f64; 4]) -> [f64; 3] {
    let r = if c[1] > 0.0 { c[0] / c[1] } else { -1.0 };
    let p = if c[3] > 0.0 { c[2] / c[3] } else { -1.0 };
    let f = if r + p > 0.0 {
        2.0 * r * p / (r + p)
    } else {
        0.0
    };
    [r, p, f]
}

/// `ComputeScoreFromCounts` of the suite's `CorefMetricTest.pm`: (recall, precision, F1) from the
/// counts, BLANC's from both sides with `ComputeBLANCRPF`.
pub fn suite_rpf(counts: &PairCounts, metric: &str) -> [f64; 3] {
    let clamp = |v: [f64; 3]| v.map(|x| x.max(0.0));
    if metric != "blanc" {
        return clamp(rpf_raw(counts.metrics[metric]));
    }
    let [cr, cp, cf] = rpf_raw(counts.blanc_coref);
    let [nr, np, nf] = rpf_raw(counts.blanc_noncoref);
    let out = if cr < 0.0 && nr < 0.0 {
        [0.0, 0.0, 0.0]
    } else if cr < 0.0 {
        [nr, np.max(0.0), nf]
    } else if nr < 0.0 {
        [cr, cp.max(0.0), cf]
    } else if cp < 0.0 && np < 0.0 {
        [0.0, 0.0, 0.0]
    } else {
        let (cp, np) = (cp.max(0.0), np.max(0.0));
        [(cr + nr) / 2.0, (cp + np) / 2.0, (cf + nf) / 2.0]
    };
    clamp(out)
}

/// v8.01's own counts on the multi-tagging cases (`v801_counts.json`, made by `make_v801_counts.sh`).
pub fn v801_counts() -> serde_json::Value {
    let path = suite_dir().join("v801_counts.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("v801_counts.json")
}

/// The outcome of checking every case.
#[derive(Debug, Default)]
pub struct Checked {
    /// Expected (recall, precision, F1) triples of the .pm compared within [`TOLERANCE`].
    pub triples: usize,
    /// Of which on the suite's own files.
    pub triples_on_original_files: usize,
    /// Raw counts compared with v8.01's on the multi-tagging cases.
    pub v801_counts: usize,
    /// Every mismatch, one line each.
    pub errors: Vec<String>,
}

/// Checks every case with `score` (key, response → counts): the .pm's expectations as `test.pl`
/// compares them, except on `allow_multi_tag` cases, whose counts must equal v8.01's own
/// (`v801_counts.json`) to the digits it prints.
pub fn check_all(score: impl Fn(&Path, &Path) -> PairCounts) -> Checked {
    let v801 = v801_counts();
    let mut out = Checked::default();
    for case in cases() {
        let (key, response, source) = files(&case);
        let counts = score(&key, &response);
        if case.multi_tag {
            let theirs = &v801["cases"][&case.id];
            for (name, ours) in counts.metrics.iter().map(|(n, c)| (n.as_str(), *c)).chain([
                ("blanc_coref", counts.blanc_coref),
                ("blanc_noncoref", counts.blanc_noncoref),
            ]) {
                let Some(expected) = theirs[name].as_array() else {
                    continue;
                };
                let expected: Vec<f64> = expected
                    .iter()
                    .map(|v| v.as_str().unwrap().parse().unwrap())
                    .collect();
                // v8.01 prints 15 significant digits.
                let same = ours
                    .iter()
                    .zip(&expected)
                    .all(|(a, b)| (a - b).abs() <= 1e-13 * b.abs().max(1.0));
                if !same {
                    out.errors.push(format!(
                        "{} {name}: ours {ours:?}, v8.01 {expected:?}",
                        case.id
                    ));
                }
                out.v801_counts += 4;
            }
            continue;
        }
        for (metric, expected) in &case.expected {
            let actual = suite_rpf(&counts, metric);
            let diff: f64 = expected
                .iter()
                .zip(&actual)
                .map(|(e, a)| (e - a).abs())
                .sum();
            if diff >= TOLERANCE {
                out.errors.push(format!(
                    "{} {metric} ({:?} pair {} / {}): expected {expected:?}, got {actual:?}",
                    case.id,
                    source,
                    key.display(),
                    response.display()
                ));
            }
            out.triples += 1;
            if source == Source::Original {
                out.triples_on_original_files += 1;
            }
        }
    }
    out
}
