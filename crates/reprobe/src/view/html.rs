//! The HTML of the viewer: escaping, text with nested marked spans, colours, the page around it.
//!
//! A marked span is `<i data-c=GROUP>words</i>`: the group is a cluster id (coreference) or an entity
//! type (NER). Brackets, the group label and the colour come from the style sheet, so a span costs
//! ~20 bytes whatever its group, and the page reads the same with JavaScript off.
use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;

/// The style sheet (brackets, colours of errors, layout).
const CSS: &str = include_str!("assets/view.css");
/// Sorting, highlighting a group, showing one side.
const JS: &str = include_str!("assets/view.js");

/// A span of words to mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// First word.
    pub start: usize,
    /// Last word (inclusive).
    pub end: usize,
    /// The cluster id or entity type.
    pub group: String,
    /// The CSS class of an error (the page's legend and the script's tooltips explain it).
    pub error: Option<&'static str>,
}

/// `s` with `&`, `<`, `>` and `"` escaped.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An attribute value: bare when HTML allows it (letters, digits, `-`, `_`, `.`), else quoted.
fn attr(value: &str) -> Cow<'_, str> {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if bare {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("\"{}\"", escape(value)))
    }
}

/// One step of writing marked text.
enum Step {
    /// Opens a piece of a mark; `first`: the mark's first piece (gets the opening bracket); `last`: set
    /// when the piece turns out to be the mark's last (gets the closing bracket and the label).
    Open {
        mark: usize,
        first: bool,
        last: bool,
    },
    Word(usize),
    Close,
}

/// Writes `words[range]`, space-separated, with `marks` (all inside `range`) as nested `<i>` elements.
///
/// Marks that start together open outermost first. A mark that crosses another (starts inside it and
/// ends after it) cannot nest: it is closed where the other closes and reopened after it, and only its
/// first piece shows `[`, only its last `]` and the label (the pieces have classes `c` and `o`).
pub fn marked_text(out: &mut String, words: &[String], range: Range<usize>, marks: &[Mark]) {
    let mut order: Vec<usize> = (0..marks.len()).collect();
    order.sort_by_key(|&m| (marks[m].start, std::cmp::Reverse(marks[m].end)));
    let mut steps: Vec<Step> = Vec::new();
    let mut stack: Vec<(usize, usize)> = Vec::new(); // (mark, index of its Open step)
    let mut next = 0;
    for w in range.clone() {
        while next < order.len() && marks[order[next]].start == w {
            stack.push((order[next], steps.len()));
            steps.push(Step::Open {
                mark: order[next],
                first: true,
                last: false,
            });
            next += 1;
        }
        steps.push(Step::Word(w));
        let mut reopen = Vec::new();
        while stack.iter().any(|&(m, _)| marks[m].end == w) {
            let (m, open) = stack.pop().expect("the stack holds a mark ending here");
            steps.push(Step::Close);
            if marks[m].end == w {
                if let Step::Open { last, .. } = &mut steps[open] {
                    *last = true;
                }
            } else {
                reopen.push(m);
            }
        }
        for m in reopen.into_iter().rev() {
            stack.push((m, steps.len()));
            steps.push(Step::Open {
                mark: m,
                first: false,
                last: false,
            });
        }
    }
    let mut after_word = false;
    for step in steps {
        match step {
            Step::Open { mark, first, last } => {
                if after_word {
                    out.push(' ');
                    after_word = false;
                }
                let m = &marks[mark];
                let _ = write!(out, "<i data-c={}", attr(&m.group));
                let mut classes: Vec<&str> = Vec::new();
                if let Some(class) = m.error {
                    classes.push(class);
                }
                if !first {
                    classes.push("c");
                }
                if !last {
                    classes.push("o");
                }
                if !classes.is_empty() {
                    let _ = write!(out, " class={}", attr(&classes.join(" ")));
                }
                out.push('>');
            }
            Step::Word(w) => {
                if after_word {
                    out.push(' ');
                }
                out.push_str(&escape(&words[w]));
                after_word = true;
            }
            Step::Close => out.push_str("</i>"),
        }
    }
}

/// Splits `sentences` into rows of whole sentences such that no span of `spans` (inclusive word
/// ranges) crosses from one row into the next; returns the rows as word ranges.
pub fn rows(
    sentences: &[Range<usize>],
    spans: impl Iterator<Item = (usize, usize)>,
) -> Vec<Range<usize>> {
    let n = sentences.last().map_or(0, |s| s.end);
    // crossing[w]: some span covers both word w - 1 and word w.
    let mut crossing = vec![false; n + 1];
    for (start, end) in spans {
        for flag in &mut crossing[start + 1..=end.min(n)] {
            *flag = true;
        }
    }
    let mut out: Vec<Range<usize>> = Vec::new();
    for s in sentences {
        match out.last_mut() {
            Some(row) if crossing[s.start] => row.end = s.end,
            _ => out.push(s.clone()),
        }
    }
    out
}

/// The marks of `marks` (sorted by start) that lie in `range`, advancing `next` past them.
pub fn marks_in<'a>(marks: &'a [Mark], next: &mut usize, range: &Range<usize>) -> &'a [Mark] {
    let from = *next;
    while *next < marks.len() && marks[*next].start < range.end {
        *next += 1;
    }
    &marks[from..*next]
}

/// CSS rules giving every group its colour (`--c`): hues spread by the golden angle.
pub fn colour_rules<'a>(groups: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, group) in groups.enumerate() {
        let hue = (210.0 + i as f64 * 137.508) % 360.0;
        let _ = write!(
            out,
            "[data-c=\"{}\"]{{--c:hsl({hue:.0},70%,38%)}}",
            group.replace(['"', '\\'], "")
        );
    }
    out
}

/// The buttons that show the key, the prediction or both (hidden until the script runs).
pub const SIDE_TOGGLE: &str = "<p id=ctl hidden>Show: <button data-show=both class=on>key and \
     prediction</button><button data-show=key>key</button><button data-show=pred>prediction</button></p>\n";

/// The page's title and the line naming its files.
pub fn heading(out: &mut String, title: &str, sources: &str) {
    let _ = writeln!(
        out,
        "<h1>{}</h1>\n<p class=meta>{}</p>",
        escape(title),
        escape(sources)
    );
}

/// `1 cluster`, `2 clusters`.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// A percentage with two decimals.
pub fn percent(fraction: f64) -> String {
    format!("{:.2}", 100.0 * fraction)
}

/// The whole page of `task` (`coref` or `ner`): the style sheet with `extra_css`, `body`, the script.
pub fn page(task: &str, title: &str, extra_css: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + CSS.len() + JS.len() + extra_css.len() + 512);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n<meta name=viewport content=\"width=device-width\">\n\
         <meta name=generator content=\"reprobe view\">\n<title>{}</title>\n<style>\n{CSS}{extra_css}\n</style>\n<body data-task={task}>\n",
        escape(title)
    );
    out.push_str(body);
    let _ = write!(out, "\n<script>\n{JS}</script>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(start: usize, end: usize, group: &str) -> Mark {
        Mark {
            start,
            end,
            group: group.into(),
            error: None,
        }
    }

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(String::from).collect()
    }

    #[test]
    fn nested_marks_nest_outermost_first() {
        let w = words("his sister Mary left");
        let mut out = String::new();
        let mut missed = mark(0, 0, "0");
        missed.error = Some("x");
        marked_text(&mut out, &w, 0..4, &[missed, mark(0, 2, "1")]);
        assert_eq!(
            out,
            "<i data-c=1><i data-c=0 class=x>his</i> sister Mary</i> left"
        );
    }

    #[test]
    fn crossing_marks_are_cut_into_pieces() {
        // [a b [c] d] with a second mark 1..3 crossing 0..2.
        let w = words("a b c d");
        let mut out = String::new();
        marked_text(&mut out, &w, 0..4, &[mark(0, 2, "A"), mark(1, 3, "B")]);
        assert_eq!(
            out,
            "<i data-c=A>a <i data-c=B class=o>b c</i></i> <i data-c=B class=c>d</i>"
        );
    }

    #[test]
    fn words_are_escaped_and_odd_groups_quoted() {
        let w = words("<b> & x");
        let mut out = String::new();
        marked_text(&mut out, &w, 0..3, &[mark(2, 2, "a b")]);
        assert_eq!(out, "&lt;b&gt; &amp; <i data-c=\"a b\">x</i>");
    }

    #[test]
    fn rows_join_sentences_that_a_span_crosses() {
        let sentences = [0..2, 2..4, 4..6, 6..8];
        assert_eq!(
            rows(&sentences, [(1, 1), (3, 4)].into_iter()),
            vec![0..2, 2..6, 6..8]
        );
        assert_eq!(rows(&sentences, std::iter::empty()).len(), 4);
    }
}
