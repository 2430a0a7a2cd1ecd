//! The page of NER predictions: sections of consecutive sentences with their entity scores, each
//! sentence's key and predicted entities side by side, coloured by type, errors marked.
use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::{anyhow, bail, Result};
use reprobe_metrics::classification::PrfScores;
use reprobe_metrics::ner::{extract_entities, Entity, EntityCounts};

use super::html::{colour_rules, escape, heading, marked_text, page, percent, Mark, SIDE_TOGGLE};
use super::input::NerSentence;
use super::ner_errors::{classify, EntityError};

/// What the page shows, in numbers (for the command's last line).
#[derive(Debug, Clone, PartialEq)]
pub struct NerSummary {
    /// Sentences shown.
    pub sentences: usize,
    /// Micro entity F1 against the key (seqeval's), when there is one.
    pub f1: Option<f64>,
}

/// One sentence's entities and their errors.
struct Analysed<'a> {
    sentence: &'a NerSentence,
    predicted: Vec<Entity>,
    predicted_errors: Vec<Option<EntityError>>,
    /// The key's entities and their errors.
    key: Option<(Vec<Entity>, Vec<Option<EntityError>>)>,
}

fn entities(sentence: &NerSentence) -> Result<Vec<Entity>> {
    extract_entities(&sentence.tags).map_err(|e| anyhow!("{}: {e}", sentence.origin))
}

fn analyse<'a>(
    sentences: &'a [NerSentence],
    key: Option<&'a [NerSentence]>,
) -> Result<Vec<Analysed<'a>>> {
    if let Some(key) = key {
        if key.len() != sentences.len() {
            bail!(
                "the predictions have {} sentences, the key {}: they must hold the same sentences",
                sentences.len(),
                key.len()
            );
        }
    }
    let mut out = Vec::with_capacity(sentences.len());
    for (i, sentence) in sentences.iter().enumerate() {
        let predicted = entities(sentence)?;
        let key = match key.map(|k| &k[i]) {
            Some(k) if k.words != sentence.words => bail!(
                "the sentence at {} differs from the key's at {} (different words)",
                sentence.origin,
                k.origin
            ),
            Some(k) => Some(entities(k)?),
            None => None,
        };
        let predicted_errors = match &key {
            Some(k) => classify(&predicted, k, EntityError::Spurious),
            None => vec![None; predicted.len()],
        };
        let key = key.map(|k| {
            let errors = classify(&k, &predicted, EntityError::Missed);
            (k, errors)
        });
        out.push(Analysed {
            sentence,
            predicted,
            predicted_errors,
            key,
        });
    }
    Ok(out)
}

fn marks(entities: &[Entity], errors: &[Option<EntityError>]) -> Vec<Mark> {
    entities
        .iter()
        .zip(errors)
        .map(|(e, error)| Mark {
            start: e.start,
            end: e.end,
            group: e.kind.clone(),
            error: error.map(|error| match error {
                EntityError::Missed | EntityError::Spurious => "x",
                EntityError::WrongType => "t",
                EntityError::WrongBoundary => "b",
            }),
        })
        .collect()
}

/// Missed (key entities nothing overlaps), spurious, wrong type, wrong boundary (predicted entities).
fn error_counts(sentences: &[Analysed]) -> [usize; 4] {
    let mut counts = [0; 4];
    for a in sentences {
        let missed = a.key.iter().flat_map(|(_, e)| e).flatten();
        counts[0] += missed.filter(|e| **e == EntityError::Missed).count();
        for e in a.predicted_errors.iter().flatten() {
            match e {
                EntityError::Spurious => counts[1] += 1,
                EntityError::WrongType => counts[2] += 1,
                EntityError::WrongBoundary => counts[3] += 1,
                EntityError::Missed => {}
            }
        }
    }
    counts
}

fn prf_cells(s: &PrfScores) -> String {
    format!(
        "<td>{}<td>{}<td>{}",
        percent(s.precision),
        percent(s.recall),
        percent(s.f1)
    )
}

/// Renders the page of `sentences` (predictions) with their `key`, `per_section` sentences a section.
pub fn render(
    sentences: &[NerSentence],
    key: Option<&[NerSentence]>,
    per_section: usize,
    title: &str,
    sources: &str,
) -> Result<(String, NerSummary)> {
    let analysed = analyse(sentences, key)?;
    let per_section = per_section.max(1);
    let mut totals = EntityCounts::new();
    let mut section_counts = Vec::new();
    for (s, chunk) in analysed.chunks(per_section).enumerate() {
        let mut counts = EntityCounts::new();
        if let Some(key) = key {
            for (i, a) in chunk.iter().enumerate() {
                let gold = &key[s * per_section + i].tags;
                counts.add_sentence(gold, &a.sentence.tags)?;
                totals.add_sentence(gold, &a.sentence.tags)?;
            }
        }
        section_counts.push(counts);
    }
    let has_key = key.is_some();
    let mut body = String::new();
    heading(&mut body, title, sources);
    let kinds: BTreeSet<&str> = analysed
        .iter()
        .flat_map(|a| {
            a.predicted
                .iter()
                .chain(a.key.iter().flat_map(|(k, _)| k))
                .map(|e| e.kind.as_str())
        })
        .collect();
    if has_key {
        let report = totals.report();
        let [missed, spurious, wrong_type, boundary] = error_counts(&analysed);
        let _ = writeln!(
            body,
            "<p><b>{} sentences, entity F1 {}</b> (precision {}, recall {}; exact span and type, as \
             seqeval). Errors: {missed} missed, {spurious} spurious entities, {wrong_type} with the \
             wrong type, {boundary} with wrong boundaries.</p>",
            analysed.len(),
            percent(report.micro.f1),
            percent(report.micro.precision),
            percent(report.micro.recall),
        );
        body.push_str("<table class=\"docs sortable types\"><thead><tr><th>type<th>key<th>predicted<th>precision<th>recall<th>F1\n<tbody>\n");
        for (kind, s) in &report.per_type {
            let c = s.counts;
            let _ = writeln!(
                body,
                "<tr><td><a data-c=\"{0}\">{0}</a><td>{1}<td>{2}{3}",
                escape(kind),
                c.true_pos + c.false_neg,
                c.true_pos + c.false_pos,
                prf_cells(s)
            );
        }
        body.push_str("</table>\n<p class=legend><span><i data-c=PER>entity</i> of type PER</span>\
             <span><i data-c=LOC class=x>missed or spurious</i></span><span><i data-c=ORG class=t>wrong type</i></span>\
             <span><i data-c=MISC class=b>wrong boundary</i></span><span>click an entity to highlight its type</span></p>\n");
        body.push_str(SIDE_TOGGLE);
    } else {
        let _ = writeln!(
            body,
            "<p><b>{} sentences</b>, no key (give one with --key to see scores and errors).</p>",
            analysed.len()
        );
    }
    // The table of sections.
    body.push_str(
        "<div class=scroll><table class=\"docs sortable\">\n<thead><tr><th>#<th>sentences",
    );
    body.push_str(if has_key {
        "<th>key entities<th>predicted<th>precision<th>recall<th>F1<th>missed<th>spurious<th>wrong type<th>wrong boundary"
    } else {
        "<th>entities"
    });
    body.push_str("\n<tbody>\n");
    let sections: Vec<&[Analysed]> = analysed.chunks(per_section).collect();
    for (s, chunk) in sections.iter().enumerate() {
        let first = s * per_section + 1;
        let _ = write!(
            body,
            "<tr><td>{s}<td><a href=#d{s}>{first}–{}</a>",
            first + chunk.len() - 1
        );
        let predicted: usize = chunk.iter().map(|a| a.predicted.len()).sum();
        if has_key {
            let key_entities: usize = chunk
                .iter()
                .flat_map(|a| &a.key)
                .map(|(k, _)| k.len())
                .sum();
            let _ = write!(
                body,
                "<td>{key_entities}<td>{predicted}{}",
                prf_cells(&section_counts[s].micro())
            );
            for n in error_counts(chunk) {
                let _ = write!(body, "<td>{n}");
            }
        } else {
            let _ = write!(body, "<td>{predicted}");
        }
        body.push('\n');
    }
    body.push_str("</table></div>\n");
    for (s, chunk) in sections.iter().enumerate() {
        let first = s * per_section + 1;
        let _ = writeln!(
            body,
            "<section class=doc id=d{s}><h2>{s} · sentences {first}–{} <span class=meta>({})</span></h2>",
            first + chunk.len() - 1,
            escape(&chunk[0].sentence.origin)
        );
        if has_key {
            let micro = section_counts[s].micro();
            let [missed, spurious, wrong_type, boundary] = error_counts(chunk);
            let _ = writeln!(
                body,
                "<p>F1 <b>{}</b> (precision {}, recall {}) · <span class=err>{missed} missed, {spurious} \
                 spurious, {wrong_type} wrong type, {boundary} wrong boundary</span></p>",
                percent(micro.f1),
                percent(micro.precision),
                percent(micro.recall)
            );
        }
        body.push_str("<table class=tx>");
        body.push_str(if has_key {
            "<tr><th>Key<th>Predicted"
        } else {
            "<tr><th>Predicted"
        });
        for a in *chunk {
            let words = &a.sentence.words;
            body.push_str("\n<tr>");
            if let Some((k, errors)) = &a.key {
                body.push_str("<td>");
                marked_text(&mut body, words, 0..words.len(), &marks(k, errors));
            }
            body.push_str("<td>");
            let predicted = marks(&a.predicted, &a.predicted_errors);
            marked_text(&mut body, words, 0..words.len(), &predicted);
        }
        body.push_str("\n</table></section>\n");
    }
    // The legend's types get colours too, after the page's own.
    let legend = ["PER", "LOC", "ORG", "MISC"]
        .into_iter()
        .filter(|k| !kinds.contains(k));
    let css = colour_rules(kinds.iter().copied().chain(legend));
    let summary = NerSummary {
        sentences: analysed.len(),
        f1: has_key.then(|| totals.micro().f1),
    };
    Ok((page("ner", title, &css, &body), summary))
}
