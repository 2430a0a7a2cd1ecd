//! Start and end logits of a question's windows → its answer, as SQuAD 2.0 practice decodes them
//! (`postprocess_qa_predictions` of transformers' `run_qa.py` example, `version_2_with_negative=True`):
//!
//! 1. per window, the null score `start[0] + end[0]` (the `[CLS]` position); the question's null score is
//!    the smallest over its windows;
//! 2. per window, every pair of the `n_best` highest start logits and `n_best` highest end logits whose
//!    positions are context subtokens with start ≤ end and at most `max_answer_len` subtokens apart
//!    (`end − start + 1 ≤ max_answer_len`), scored `start + end`;
//! 3. the best span (highest score; on a tie the one found first, windows in order, then starts and ends by
//!    decreasing logit) is the answer unless `null − best_start_logit − best_end_logit > threshold`, in
//!    which case the answer is `""`;
//! 4. the no-answer probability is that of the null among the `n_best` best candidates (spans and the
//!    null, the null added when it is not among them), through a softmax over their scores.
//!
//! Sums are in f32, as numpy sums the float32 logits. One difference: when no span is valid at all,
//! transformers answers the text `"empty"` (a placeholder it inserts with score 0); here the answer is
//! `""` with no-answer probability 1.

/// The decoding settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeOptions {
    /// Start and end candidates per window (20 in `run_qa.py`).
    pub n_best: usize,
    /// Longest answer in subtokens (30 in `run_qa.py`).
    pub max_answer_len: usize,
    /// `null_score_diff_threshold`: answer `""` when the null score beats the best span by more (0).
    pub null_threshold: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            n_best: 20,
            max_answer_len: 30,
            null_threshold: 0.0,
        }
    }
}

/// The logits of one window, with the character ranges of its context subtokens.
#[derive(Debug, Clone, Copy)]
pub struct WindowScores<'a> {
    /// Start logit per position. `[T]`
    pub start: &'a [f32],
    /// End logit per position. `[T]`
    pub end: &'a [f32],
    /// Per position: the context characters of a context subtoken, `None` elsewhere. `[T]`
    pub offsets: &'a [Option<(usize, usize)>],
}

/// A candidate answer span.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Its text in the context.
    pub text: String,
    /// First character in the context (code points).
    pub char_start: usize,
    /// One past the last character.
    pub char_end: usize,
    /// The window it was found in.
    pub window: usize,
    /// Start and end positions in that window (inclusive).
    pub positions: (usize, usize),
    /// Start logit at the start.
    pub start_logit: f32,
    /// End logit at the end.
    pub end_logit: f32,
}

impl Span {
    /// `start_logit + end_logit` in f32.
    pub fn score(&self) -> f32 {
        self.start_logit + self.end_logit
    }
}

/// The decoded answer of a question.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The best span, when any is valid.
    pub best: Option<Span>,
    /// The smallest `[CLS]` score over the windows.
    pub null_score: f32,
    /// `null_score − start − end` of the best span (`+∞` without one).
    pub score_diff: f32,
    /// Whether the question is answered with `""`.
    pub no_answer: bool,
    /// The softmax probability of the null among the best candidates (step 4 of the module doc).
    pub no_answer_probability: f64,
}

impl Decoded {
    /// The predicted span, `None` for "no answer".
    pub fn answer(&self) -> Option<&Span> {
        if self.no_answer {
            None
        } else {
            self.best.as_ref()
        }
    }

    /// The predicted text (`""` for "no answer"), what the official prediction file holds.
    pub fn text(&self) -> &str {
        self.answer().map_or("", |s| s.text.as_str())
    }
}

/// The positions of the `n` highest values, highest first (ties: lower position first).
fn top_positions(values: &[f32], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order.truncate(n);
    order
}

/// Decodes one question (module doc) from its windows over `context`.
///
/// # Panics
/// If a window has no position or its three slices differ in length (callers build them together).
pub fn decode_answer(
    context: &str,
    windows: &[WindowScores<'_>],
    options: DecodeOptions,
) -> Decoded {
    let chars: Vec<char> = context.chars().collect();
    let mut null_score = f32::INFINITY;
    let mut spans: Vec<Span> = Vec::new();
    for (w, window) in windows.iter().enumerate() {
        assert!(
            window.start.len() == window.end.len() && window.start.len() == window.offsets.len(),
            "one start logit, end logit and offset per position"
        );
        let null = window.start[0] + window.end[0];
        if null < null_score {
            null_score = null;
        }
        let ends = top_positions(window.end, options.n_best);
        for s in top_positions(window.start, options.n_best) {
            for &e in &ends {
                let (Some(from), Some(to)) = (window.offsets[s], window.offsets[e]) else {
                    continue;
                };
                if e < s || e - s + 1 > options.max_answer_len {
                    continue;
                }
                let (char_start, char_end) = (from.0, to.1.max(from.0));
                spans.push(Span {
                    text: chars[char_start.min(chars.len())..char_end.min(chars.len())]
                        .iter()
                        .collect(),
                    char_start,
                    char_end,
                    window: w,
                    positions: (s, e),
                    start_logit: window.start[s],
                    end_logit: window.end[e],
                });
            }
        }
    }
    // Stable: among equal scores the span found first comes first.
    spans.sort_by(|a, b| b.score().total_cmp(&a.score()));
    let best = spans.first().cloned();
    let score_diff = best
        .as_ref()
        .map_or(f32::INFINITY, |b| null_score - b.start_logit - b.end_logit);
    let no_answer = f64::from(score_diff) > options.null_threshold;
    Decoded {
        no_answer_probability: null_probability(&spans, null_score, options.n_best),
        best,
        null_score,
        score_diff,
        no_answer,
    }
}

/// The softmax probability of the null among the `n_best` best of the spans and the null (the null added
/// when it is not among them).
fn null_probability(sorted_spans: &[Span], null_score: f32, n_best: usize) -> f64 {
    let mut scores: Vec<f32> = Vec::with_capacity(n_best + 1);
    let mut null_in = false;
    let mut spans = sorted_spans.iter().map(Span::score).peekable();
    // The null goes after the spans of equal score (it is appended last before the stable sort).
    while scores.len() < n_best {
        match spans.peek() {
            Some(&s) if null_in || s >= null_score => {
                scores.push(s);
                spans.next();
            }
            _ if !null_in => {
                scores.push(null_score);
                null_in = true;
            }
            _ => break,
        }
    }
    if !null_in {
        scores.push(null_score);
    }
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = scores.iter().map(|&s| f64::from(s - max).exp()).collect();
    f64::from(null_score - max).exp() / exp.iter().sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTEXT: &str = "ab cd ef";

    fn offsets() -> Vec<Option<(usize, usize)>> {
        // [CLS] q [SEP] ab cd ef [SEP]
        vec![
            None,
            None,
            None,
            Some((0, 2)),
            Some((3, 5)),
            Some((6, 8)),
            None,
        ]
    }

    #[test]
    fn best_span_against_the_null_score() {
        let offsets = offsets();
        let start = [1.0, 9.0, 0.0, 3.0, 2.0, 0.5, 9.0];
        let end = [1.0, 9.0, 0.0, 0.0, 2.5, 1.0, 9.0];
        let windows = [WindowScores {
            start: &start,
            end: &end,
            offsets: &offsets,
        }];
        let d = decode_answer(CONTEXT, &windows, DecodeOptions::default());
        // Question and special positions are never spans; best: start "ab" (3) + end "cd" (2.5).
        let best = d.best.clone().unwrap();
        assert_eq!(
            (best.text.as_str(), best.char_start, best.char_end),
            ("ab cd", 0, 5)
        );
        assert_eq!(best.positions, (3, 4));
        assert_eq!(d.null_score, 2.0);
        assert!(!d.no_answer);
        assert_eq!(d.text(), "ab cd");
        // A threshold below −3.5 turns it into "no answer".
        let strict = DecodeOptions {
            null_threshold: -4.0,
            ..DecodeOptions::default()
        };
        assert_eq!(decode_answer(CONTEXT, &windows, strict).text(), "");
        // Spans longer than max_answer_len are skipped.
        let short = DecodeOptions {
            max_answer_len: 1,
            ..DecodeOptions::default()
        };
        let d = decode_answer(CONTEXT, &windows, short);
        assert_eq!(d.best.unwrap().text, "cd", "2 + 2.5 beats 3 + 0");
    }

    #[test]
    fn the_null_score_is_the_smallest_over_windows_and_its_probability_a_softmax() {
        let offsets = offsets();
        let (s1, e1) = (
            [5.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
            [5.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
        );
        let (s2, e2) = (
            [1.0f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.5f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        let windows = [
            WindowScores {
                start: &s1,
                end: &e1,
                offsets: &offsets,
            },
            WindowScores {
                start: &s2,
                end: &e2,
                offsets: &offsets,
            },
        ];
        let options = DecodeOptions {
            n_best: 2,
            ..DecodeOptions::default()
        };
        let d = decode_answer(CONTEXT, &windows, options);
        assert_eq!(d.null_score, 1.5);
        assert_eq!(d.best.as_ref().unwrap().text, "ab");
        assert_eq!(d.score_diff, -0.5);
        assert!(!d.no_answer);
        // The only span is "ab" (window 1; window 2's top starts are [CLS] and a question position):
        // the candidates are "ab" (2.0) and the null (1.5).
        let want = 1.5f64.exp() / (2.0f64.exp() + 1.5f64.exp());
        assert!(
            (d.no_answer_probability - want).abs() < 1e-6,
            "{}",
            d.no_answer_probability
        );
        // No valid span: "", probability 1.
        let none = [None; 7];
        let d = decode_answer(
            CONTEXT,
            &[WindowScores {
                start: &s1,
                end: &e1,
                offsets: &none,
            }],
            options,
        );
        assert!(d.no_answer && d.best.is_none());
        assert_eq!((d.text(), d.no_answer_probability), ("", 1.0));
    }
}
