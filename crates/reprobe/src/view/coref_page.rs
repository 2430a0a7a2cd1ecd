//! The page of coreference documents: a table of the documents with their scores and errors, then each
//! document's text with the key's and the prediction's mentions side by side.
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use anyhow::{bail, Result};
use reprobe_corpus::Cluster;
use reprobe_metrics::{score_document, CorefCounts, CorefEvaluator, MetricSet};

use super::align::predicted_ids;
use super::coref_errors::{classify, CorefErrors, MentionError};
use super::html::{
    colour_rules, count, escape, heading, marked_text, marks_in, page, percent, rows, Mark,
    SIDE_TOGGLE,
};
use super::input::CorefDoc;

/// What the page shows, in numbers (for the command's last line).
#[derive(Debug, Clone, PartialEq)]
pub struct CorefSummary {
    /// Documents shown.
    pub documents: usize,
    /// Of them, documents the key has.
    pub with_key: usize,
    /// Key documents without a prediction (scored as predicting nothing, not shown).
    pub key_only: usize,
    /// CoNLL F1 over the key's documents, as `reprobe score KEY PREDICTIONS` computes it.
    pub conll_f1: Option<f64>,
}

/// One document as shown: its key (when there is one), scores and errors.
struct Analysed<'a> {
    /// Position among the shown documents (the section's anchor is `d<index>`).
    index: usize,
    doc: &'a CorefDoc,
    key: Option<&'a CorefDoc>,
    counts: Option<CorefCounts>,
    errors: Option<CorefErrors>,
    /// Display id of every predicted cluster.
    ids: Vec<usize>,
}

fn mentions(clusters: &[Cluster]) -> usize {
    clusters.iter().map(Vec::len).sum()
}

/// Pairs every document with its key document (by `doc_key`), scores and analyses it.
fn analyse<'a>(
    docs: &'a [CorefDoc],
    key: Option<&'a [CorefDoc]>,
    evaluator: &mut CorefEvaluator,
) -> Result<(Vec<Analysed<'a>>, usize)> {
    // As the scorer: the last key document of a name counts.
    let key_docs: HashMap<&str, &CorefDoc> = key
        .unwrap_or_default()
        .iter()
        .map(|d| (d.doc_key.as_str(), d))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        if !seen.insert(doc.doc_key.as_str()) {
            bail!(
                "document {} is in the predictions twice: view one prediction of each document",
                doc.doc_key
            );
        }
        let key_doc = key_docs.get(doc.doc_key.as_str()).copied();
        if let Some(k) = key_doc {
            if k.words.len() != doc.words.len() {
                bail!(
                    "document {}: the prediction has {} words, the key {}: the key must hold the same \
                     documents",
                    doc.doc_key,
                    doc.words.len(),
                    k.words.len()
                );
            }
        }
        let key_clusters = key_doc.map_or(&[][..], |k| &k.clusters[..]);
        let counts = key_doc.map(|k| {
            let counts = score_document(&k.clusters, &doc.clusters, evaluator.metrics()).counts;
            evaluator.add_counts(&counts);
            counts
        });
        out.push(Analysed {
            index: out.len(),
            doc,
            key: key_doc,
            counts,
            errors: key_doc.map(|k| classify(&k.clusters, &doc.clusters)),
            ids: predicted_ids(key_clusters, &doc.clusters),
        });
    }
    // Key documents without a prediction score as an empty response, as the scorer scores them.
    let empty: Vec<Cluster> = Vec::new();
    let mut key_only = 0;
    for k in key.unwrap_or_default() {
        // In the key's order, each name once (`seen` now also holds the names counted here).
        if seen.insert(k.doc_key.as_str()) {
            let last = key_docs[k.doc_key.as_str()];
            evaluator
                .add_counts(&score_document(&last.clusters, &empty, evaluator.metrics()).counts);
            key_only += 1;
        }
    }
    Ok((out, key_only))
}

fn f1(
    counts: &CorefCounts,
    metric: fn(&CorefCounts) -> Option<&reprobe_metrics::Counts>,
) -> String {
    metric(counts).map_or("–".into(), |c| percent(c.f1()))
}

/// `MUC 50.00 · B³ … · CEAFe … · CoNLL …` cells (or text) of counts.
fn scores(counts: &CorefCounts) -> [String; 4] {
    [
        f1(counts, |c| c.muc.as_ref()),
        f1(counts, |c| c.bcub.as_ref()),
        f1(counts, |c| c.ceafe.as_ref()),
        counts.conll_f1().map_or("–".into(), percent),
    ]
}

/// The error counts of a document: missed, spurious, wrong links, split, merged.
fn error_counts(errors: &CorefErrors) -> [usize; 5] {
    [
        errors.count(MentionError::Missed),
        errors.count(MentionError::Spurious),
        errors.count(MentionError::WrongLink),
        errors.split.len(),
        errors.merged.len(),
    ]
}

fn key_marks(clusters: &[Cluster], errors: Option<&CorefErrors>) -> Vec<Mark> {
    let mut marks = Vec::new();
    for (j, cluster) in clusters.iter().enumerate() {
        for (m, span) in cluster.iter().enumerate() {
            let error = errors.and_then(|e| e.key[j][m]);
            marks.push(Mark {
                start: span.start,
                end: span.end,
                group: j.to_string(),
                error: error.map(|_| "x"),
            });
        }
    }
    marks.sort_by_key(|m| m.start);
    marks
}

fn predicted_marks(a: &Analysed) -> Vec<Mark> {
    let mut marks = Vec::new();
    for (i, cluster) in a.doc.clusters.iter().enumerate() {
        for (m, span) in cluster.iter().enumerate() {
            let error = a.errors.as_ref().and_then(|e| e.predicted[i][m]);
            marks.push(Mark {
                start: span.start,
                end: span.end,
                group: a.ids[i].to_string(),
                error: error.map(|e| match e {
                    MentionError::WrongLink => "w",
                    _ => "x",
                }),
            });
        }
    }
    marks.sort_by_key(|m| m.start);
    marks
}

/// Renders the page of `docs` (predictions) with their `key`.
pub fn render(
    docs: &[CorefDoc],
    key: Option<&[CorefDoc]>,
    title: &str,
    sources: &str,
) -> Result<(String, CorefSummary)> {
    let mut evaluator = CorefEvaluator::with_metrics(MetricSet::conll());
    let (analysed, key_only) = analyse(docs, key, &mut evaluator)?;
    let with_key = analysed.iter().filter(|a| a.key.is_some()).count();
    let has_key = key.is_some();
    let totals = evaluator.totals();
    let mut body = String::new();
    heading(&mut body, title, sources);
    let mut total_errors = [0; 5];
    for a in &analysed {
        if let Some(e) = &a.errors {
            for (t, n) in total_errors.iter_mut().zip(error_counts(e)) {
                *t += n;
            }
        }
    }
    if has_key {
        let [muc, bcub, ceafe, conll] = scores(&totals);
        let mention = &totals.mentions;
        let _ = write!(
            body,
            "<p><b>{} documents, CoNLL F1 {conll}</b> (MUC {muc}, B³ {bcub}, CEAFe {ceafe}; mentions: \
             recall {}, precision {}). Errors: {} missed, {} spurious mentions, {} wrong links, {} \
             split and {} merged clusters.",
            with_key + key_only,
            percent(mention.recall()),
            percent(mention.precision()),
            total_errors[0],
            total_errors[1],
            total_errors[2],
            total_errors[3],
            total_errors[4],
        );
        if key_only > 0 {
            let _ = write!(
                body,
                " <span class=err>{key_only} key documents have no prediction: they count as \
                 predicting nothing (as the scorer counts them) and are not shown.</span>"
            );
        }
        if with_key < analysed.len() {
            let _ = write!(
                body,
                " <span class=err>{} documents are not in the key: shown without scores.</span>",
                analysed.len() - with_key
            );
        }
        body.push_str("</p>\n");
        body.push_str(
            "<p class=legend><span><i data-c=0>mention</i> of cluster 0 (a predicted cluster has the \
             number of the key cluster it shares most mentions with)</span><span><i data-c=1 class=x>missed \
             or spurious</i> mention</span><span><i data-c=2 class=w>wrong link</i></span><span>click a \
             mention to highlight its cluster (and the same spans on the other side)</span></p>\n",
        );
        body.push_str(SIDE_TOGGLE);
    } else {
        let _ = write!(
            body,
            "<p><b>{} documents</b>, no key (give one with --key to see scores and errors).</p>\n\
             <p class=legend><span><i data-c=0>mention</i> of cluster 0</span><span>click a mention to \
             highlight its cluster</span></p>\n",
            analysed.len()
        );
    }
    document_table(&mut body, &analysed, has_key, &totals);
    let mut max_id = 0;
    for a in &analysed {
        max_id = max_id.max(a.ids.iter().max().map_or(0, |m| m + 1));
        max_id = max_id.max(a.key.map_or(0, |k| k.clusters.len()));
        document_section(&mut body, a, has_key);
    }
    let ids: Vec<String> = (0..max_id.max(3)).map(|i| i.to_string()).collect();
    let css = colour_rules(ids.iter().map(String::as_str));
    let summary = CorefSummary {
        documents: analysed.len(),
        with_key,
        key_only,
        conll_f1: if has_key { totals.conll_f1() } else { None },
    };
    Ok((page("coref", title, &css, &body), summary))
}

fn document_table(body: &mut String, analysed: &[Analysed], has_key: bool, totals: &CorefCounts) {
    body.push_str(
        "<div class=scroll><table class=\"docs sortable\">\n<thead><tr><th>#<th>document<th>words",
    );
    if has_key {
        body.push_str(
            "<th>key mentions<th>predicted<th>MUC F1<th>B³ F1<th>CEAFe F1<th>CoNLL F1<th>missed\
             <th>spurious<th>wrong links<th>split<th>merged",
        );
    } else {
        body.push_str("<th>mentions<th>clusters");
    }
    body.push_str("\n<tbody>\n");
    for a in analysed {
        let (i, doc) = (a.index, a.doc);
        let _ = write!(
            body,
            "<tr><td>{i}<td><a href=#d{i}>{}</a><td>{}",
            escape(&doc.doc_key),
            doc.words.len()
        );
        if !has_key {
            let _ = write!(
                body,
                "<td>{}<td>{}",
                mentions(&doc.clusters),
                doc.clusters.len()
            );
        } else if let (Some(k), Some(counts), Some(errors)) = (a.key, &a.counts, &a.errors) {
            let _ = write!(
                body,
                "<td>{}<td>{}",
                mentions(&k.clusters),
                mentions(&doc.clusters)
            );
            for s in scores(counts) {
                let _ = write!(body, "<td>{s}");
            }
            for n in error_counts(errors) {
                let _ = write!(body, "<td>{n}");
            }
        } else {
            let _ = write!(body, "<td>–<td>{}", mentions(&doc.clusters));
            body.push_str(&"<td>–".repeat(9));
        }
        body.push('\n');
    }
    if has_key {
        body.push_str("<tfoot><tr><td><td>all (micro)<td><td><td>");
        for s in scores(totals) {
            let _ = write!(body, "<td>{s}");
        }
        body.push_str("<td><td><td><td><td>\n");
    }
    body.push_str("</table></div>\n");
}

fn document_section(body: &mut String, a: &Analysed, has_key: bool) {
    let doc = a.doc;
    let _ = write!(
        body,
        "<section class=doc id=d{}><h2>{} · {}</h2>\n<p>",
        a.index,
        a.index,
        escape(&doc.doc_key)
    );
    let key_clusters = a.key.map(|k| &k.clusters[..]);
    if let (Some(counts), Some(errors), Some(k)) = (&a.counts, &a.errors, key_clusters) {
        let [muc, bcub, ceafe, conll] = scores(counts);
        let [missed, spurious, wrong, _, _] = error_counts(errors);
        let _ = write!(
            body,
            "CoNLL F1 <b>{conll}</b> (MUC {muc}, B³ {bcub}, CEAFe {ceafe}) · key: {}, {} · predicted: \
             {}, {} · <span class=err>{missed} missed, {spurious} spurious, {}</span>",
            count(mentions(k), "mention"),
            count(k.len(), "cluster"),
            count(mentions(&doc.clusters), "mention"),
            count(doc.clusters.len(), "cluster"),
            count(wrong, "wrong link"),
        );
        if !errors.split.is_empty() {
            body.push_str(" · split:");
            for &(j, n) in &errors.split {
                let _ = write!(body, " <a data-c={j} data-col=0>{j}</a>&nbsp;in&nbsp;{n}");
            }
        }
        if !errors.merged.is_empty() {
            body.push_str(" · merged:");
            for &(p, n) in &errors.merged {
                let id = a.ids[p];
                let _ = write!(body, " <a data-c={id} data-col=1>{id}</a>&nbsp;of&nbsp;{n}");
            }
        }
    } else {
        let _ = write!(
            body,
            "{}, {}{}",
            count(mentions(&doc.clusters), "mention"),
            count(doc.clusters.len(), "cluster"),
            if has_key { " · not in the key" } else { "" }
        );
    }
    body.push_str("</p>\n<table class=tx>");
    if has_key {
        body.push_str("<tr><th>Key<th>Predicted");
    } else {
        body.push_str("<tr><th>Predicted");
    }
    let key_marks = key_clusters.map(|k| key_marks(k, a.errors.as_ref()));
    let predicted_marks = predicted_marks(a);
    let spans = key_marks
        .iter()
        .flatten()
        .chain(&predicted_marks)
        .map(|m| (m.start, m.end));
    let (mut next_key, mut next_predicted) = (0, 0);
    for row in rows(&doc.sentences, spans) {
        body.push_str("\n<tr>");
        if has_key {
            body.push_str("<td>");
            if let Some(marks) = &key_marks {
                marked_text(
                    body,
                    &doc.words,
                    row.clone(),
                    marks_in(marks, &mut next_key, &row),
                );
            }
        }
        body.push_str("<td>");
        let marks = marks_in(&predicted_marks, &mut next_predicted, &row);
        marked_text(body, &doc.words, row.clone(), marks);
    }
    body.push_str("\n</table></section>\n");
}
