//! `reprobe view`: one self-contained HTML page of coreference or NER predictions, with their errors
//! against a key.
//!
//! ```text
//! prediction files ─► input (CorefDoc / NerSentence) ─┬─► coref_errors, align, reprobe-metrics ─► coref_page ─┐
//! key files ────────► input ──────────────────────────┘   ner_errors, reprobe-metrics ──────────► ner_page ───┴─► html
//! ```
//!
//! The page needs nothing but itself: the style sheet and the script are inside it, no font or script
//! is fetched, and everything but sorting, highlighting and the side toggle reads with JavaScript off.
//! Marks are `<i data-c=GROUP>` elements styled by the sheet, so a mention costs about 20 bytes.
pub mod align;
pub mod coref_errors;
pub mod coref_page;
mod html;
pub mod input;
pub mod ner_errors;
pub mod ner_page;

use std::path::Path;

use anyhow::{bail, Result};

use input::{Loaded, TaskChoice};

/// A rendered page and one line saying what it holds.
pub struct Rendered {
    /// The HTML.
    pub html: String,
    /// E.g. `30 documents (30 in the key), CoNLL F1 52.91`.
    pub summary: String,
}

/// Reads `inputs` (their documents or sentences in order) and `keys`, and renders the page.
pub fn render(
    inputs: &[&Path],
    keys: &[&Path],
    task: TaskChoice,
    per_section: usize,
    title: &str,
) -> Result<Rendered> {
    let predicted = read_all(inputs, task)?;
    let task = match &predicted {
        Loaded::Coref(_) => TaskChoice::Coref,
        Loaded::Ner(_) => TaskChoice::Ner,
    };
    let key = if keys.is_empty() {
        None
    } else {
        Some(read_all(keys, task)?)
    };
    let names = |paths: &[&Path]| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut sources = format!("predictions: {}", names(inputs));
    if !keys.is_empty() {
        sources += &format!(" · key: {}", names(keys));
    }
    match (predicted, key) {
        (Loaded::Coref(docs), key) => {
            let key = match key {
                Some(Loaded::Coref(k)) => Some(k),
                _ => None,
            };
            let (html, s) = coref_page::render(&docs, key.as_deref(), title, &sources)?;
            let mut summary = format!("{} documents", s.documents);
            if let Some(f1) = s.conll_f1 {
                summary += &format!(
                    " ({} in the key{}), CoNLL F1 {:.2}",
                    s.with_key,
                    if s.key_only > 0 {
                        format!("; {} key documents without a prediction", s.key_only)
                    } else {
                        String::new()
                    },
                    100.0 * f1
                );
            }
            Ok(Rendered { html, summary })
        }
        (Loaded::Ner(sentences), key) => {
            let key = match key {
                Some(Loaded::Ner(k)) => Some(k),
                _ => None,
            };
            let (html, s) =
                ner_page::render(&sentences, key.as_deref(), per_section, title, &sources)?;
            let mut summary = format!("{} sentences", s.sentences);
            if let Some(f1) = s.f1 {
                summary += &format!(", entity F1 {:.2}", 100.0 * f1);
            }
            Ok(Rendered { html, summary })
        }
    }
}

/// Reads every file as `task`; all must hold the same task.
fn read_all(paths: &[&Path], task: TaskChoice) -> Result<Loaded> {
    let mut out: Option<Loaded> = None;
    for path in paths {
        let loaded = input::read(path, task)?;
        out = Some(match (out, loaded) {
            (None, loaded) => loaded,
            (Some(Loaded::Coref(mut a)), Loaded::Coref(b)) => {
                a.extend(b);
                Loaded::Coref(a)
            }
            (Some(Loaded::Ner(mut a)), Loaded::Ner(b)) => {
                a.extend(b);
                Loaded::Ner(a)
            }
            _ => bail!(
                "{} holds another task than the files before it: view coreference and NER files \
                 separately",
                path.display()
            ),
        });
    }
    out.ok_or_else(|| anyhow::anyhow!("no input file"))
}
