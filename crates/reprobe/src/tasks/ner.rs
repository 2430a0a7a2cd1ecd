//! Named-entity recognition as token classification (SPEC §5): IOB2 tags from CoNLL-style column files or
//! the NER column of CoNLL-2012 `*_gold_conll` files; the label of a word on its first subtoken; dropout →
//! linear over the aggregated embeddings; entity-level F1 (seqeval's default reading) as `val/f1` and the
//! reference's token-level micro F1 over non-`O` tokens as `val/token_f1`.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use reprobe_corpus::readers::columns::{
    label_set, read_columns, read_conll2012_ner, TaggedSentence,
};
use reprobe_corpus::sequence::{encode_tagged, label_index, TaggedWindow, IGNORE_LABEL};
use reprobe_metrics::ner::{EntityCounts, TokenMicroF1};
use reprobe_models::heads::token_classification::{
    TokenClassificationConfig, TokenClassificationHead,
};

use super::batch::Batching;
use super::{percent, Scored, Task};
use crate::config::{HeadConfig, RunConfig};
use crate::progress::Progress;
use crate::train::backbone::Backbone;

/// The token-classification head over the stack, and its labels.
pub struct NerTask {
    /// The head.
    pub head: TokenClassificationHead,
    labels: Vec<String>,
    label_ids: HashMap<String, usize>,
    max_len: usize,
    batching: Batching,
}

/// One model window of a sentence (a sentence longer than the encoder's maximum has several).
#[derive(Debug, Clone)]
pub struct NerExample {
    /// Subtoken ids and first-subtoken labels.
    pub window: TaggedWindow,
    /// The words of the window.
    pub words: Vec<String>,
    /// Their gold tags, when the file has them.
    pub gold: Option<Vec<String>>,
    /// Where the sentence starts in its file (`path:line`), for messages.
    pub origin: String,
}

/// An evaluation: the entity counts, the token-level score, the loss and the predicted tags per sentence.
pub struct NerEvaluation {
    /// Entity-level counts (micro and per type).
    pub entities: EntityCounts,
    /// The reference's token-level micro F1 (gold-`O` tokens dropped).
    pub tokens: TokenMicroF1,
    /// Mean loss over batches.
    pub loss: f64,
    /// Per sentence: its words, gold tags (when known) and predicted tags.
    pub sentences: Vec<TaggedPrediction>,
}

/// The words, gold and predicted tags of one sentence.
#[derive(Debug, Clone)]
pub struct TaggedPrediction {
    /// The words.
    pub words: Vec<String>,
    /// Gold tags, when known.
    pub gold: Option<Vec<String>>,
    /// Predicted tags.
    pub predicted: Vec<String>,
}

impl Scored for NerEvaluation {
    fn scores(&self, prefix: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        out.insert(format!("{prefix}/loss"), self.loss);
        let micro = self.entities.micro();
        out.insert(format!("{prefix}/f1"), micro.f1);
        out.insert(format!("{prefix}/precision"), micro.precision);
        out.insert(format!("{prefix}/recall"), micro.recall);
        out.insert(format!("{prefix}/token_f1"), self.tokens.f1());
        for (kind, scores) in self.entities.per_type() {
            out.insert(format!("{prefix}/{kind}_f1"), scores.f1);
        }
        out
    }
}

/// The sentences of a NER file: CoNLL-2012 `*_gold_conll` (its NER column) or a column file.
pub fn read_sentences(path: &Path) -> Result<Vec<TaggedSentence>> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    Ok(if name.ends_with("gold_conll") {
        read_conll2012_ner(path)?
    } else {
        read_columns(path)?
    })
}

impl NerTask {
    /// Windows of `sentences` (tags checked against the label set when `with_gold`).
    pub fn encode(
        &self,
        backbone: &Backbone,
        sentences: &[TaggedSentence],
        with_gold: bool,
        origin: &Path,
    ) -> Result<Vec<NerExample>> {
        let mut out = Vec::with_capacity(sentences.len());
        for (i, sentence) in sentences.iter().enumerate() {
            let tags = with_gold.then_some(sentence.tags.as_slice());
            let windows = encode_tagged(
                i,
                &sentence.words,
                tags,
                &self.label_ids,
                &backbone.tokenizer,
                self.max_len,
            )
            .with_context(|| {
                format!(
                    "{}:{}: the sentence cannot be encoded (labels known to the model: {})",
                    origin.display(),
                    sentence.line,
                    self.labels.join(" ")
                )
            })?;
            let ranges = window_word_ranges(&windows, sentence.words.len());
            for (window, range) in windows.into_iter().zip(ranges) {
                out.push(NerExample {
                    words: sentence.words[range.clone()].to_vec(),
                    gold: with_gold.then(|| sentence.tags[range].to_vec()),
                    origin: format!("{}:{}", origin.display(), sentence.line),
                    window,
                });
            }
        }
        Ok(out)
    }

    /// Logits (and the loss) of a batch. `[B, T, L]`
    fn forward(
        &self,
        backbone: &Backbone,
        batch: &[&NerExample],
        with_gold: bool,
        train: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let rows: Vec<Vec<u32>> = batch.iter().map(|e| e.window.input_ids.clone()).collect();
        let (encoded, _mask) =
            backbone.encode_rows(&rows, None, self.batching.cache_key(), train)?; // [B, T, D]
        let labels = if with_gold {
            Some(label_tensor(batch, &backbone.device)?) // [B, T]
        } else {
            None
        };
        let output = if train {
            self.head
                .forward_t(&encoded.embeddings, labels.as_ref(), true)?
        } else {
            self.head
                .forward_eval(&encoded.embeddings, labels.as_ref())?
        };
        Ok((output.logits, output.loss))
    }

    /// Predicted tags of every example (its words in order), with the mean loss when gold is known.
    pub fn predict(
        &self,
        backbone: &Backbone,
        examples: &[NerExample],
        with_gold: bool,
        progress: &Progress,
    ) -> Result<(Vec<Vec<String>>, f64)> {
        let mut tags = Vec::with_capacity(examples.len());
        let loss = self.batching.evaluate(
            examples,
            |batch| self.forward(backbone, batch, with_gold, false),
            |batch, logits| {
                let ids: Vec<Vec<u32>> = logits.argmax(candle_core::D::Minus1)?.to_vec2()?; // [B][T]
                for (example, row) in batch.iter().zip(ids) {
                    let mut words = vec![String::new(); example.words.len()];
                    for (pos, word) in example.window.word_index.iter().enumerate() {
                        if let Some(w) = word {
                            words[w - example.window.first_word] =
                                self.labels[row[pos] as usize].clone();
                        }
                    }
                    tags.push(words);
                    progress.inc();
                }
                Ok(())
            },
        )?;
        Ok((tags, loss))
    }

    /// The label list of the head.
    pub fn label_list(&self) -> &[String] {
        &self.labels
    }
}

/// The word range of each window of one sentence (windows are consecutive and cover every word).
fn window_word_ranges(windows: &[TaggedWindow], words: usize) -> Vec<std::ops::Range<usize>> {
    windows
        .iter()
        .enumerate()
        .map(|(i, w)| w.first_word..windows.get(i + 1).map_or(words, |n| n.first_word))
        .collect()
}

/// The label ids of a batch, padded with the ignore label. `[B, T]` i64
fn label_tensor(batch: &[&NerExample], device: &candle_core::Device) -> Result<Tensor> {
    let t = batch
        .iter()
        .map(|e| e.window.labels.len())
        .max()
        .unwrap_or(0);
    let mut flat = vec![IGNORE_LABEL; batch.len() * t];
    for (i, example) in batch.iter().enumerate() {
        flat[i * t..i * t + example.window.labels.len()].copy_from_slice(&example.window.labels);
    }
    Ok(Tensor::from_vec(flat, (batch.len(), t), device)?)
}

impl Task for NerTask {
    type Example = NerExample;
    type Evaluation = NerEvaluation;

    fn training_labels(cfg: &RunConfig) -> Result<Option<Vec<String>>> {
        let Some(path) = &cfg.data.train else {
            bail!("`data.train` is not set")
        };
        let sentences = read_sentences(path)?;
        let labels = label_set(&sentences);
        if labels.len() < 2 {
            bail!("{} has no entity tag: nothing to learn", path.display());
        }
        Ok(Some(labels))
    }

    fn build(cfg: &RunConfig, backbone: &Backbone, labels: Option<Vec<String>>) -> Result<Self> {
        let Some(labels) = labels else {
            bail!("a NER model needs its label list (labels.json of the run)")
        };
        let HeadConfig::Tagging(head_cfg) = &cfg.head else {
            bail!("`task = \"ner\"` needs the tagging head options in [head]")
        };
        let head = TokenClassificationHead::new(
            &TokenClassificationConfig {
                num_labels: labels.len(),
                dropout: head_cfg.dropout,
            },
            backbone.stack.output_size(),
            &backbone.params,
        )?;
        Ok(NerTask {
            head,
            label_ids: label_index(&labels),
            labels,
            max_len: cfg.data.seg_len,
            batching: Batching::of(backbone, cfg.batch_size(), cfg.seed),
        })
    }

    fn labels(&self) -> Option<&[String]> {
        Some(&self.labels)
    }

    fn read_split(
        &self,
        backbone: &Backbone,
        path: &Path,
        limit: Option<usize>,
    ) -> Result<(Vec<NerExample>, String)> {
        let mut sentences = read_sentences(path)?;
        if let Some(n) = limit {
            sentences.truncate(n);
        }
        if sentences.is_empty() {
            bail!("{} holds no sentence", path.display());
        }
        let examples = self.encode(backbone, &sentences, true, path)?;
        let words: usize = sentences.iter().map(|s| s.words.len()).sum();
        let subtokens: usize = examples.iter().map(|e| e.window.input_ids.len()).sum();
        let summary = format!(
            "{} sentences, {words} words, {} windows, {subtokens} subtokens ({})",
            sentences.len(),
            examples.len(),
            path.display()
        );
        Ok((examples, summary))
    }

    fn batches(&self, examples: &[NerExample], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        self.batching.epoch(examples.len(), rng)
    }

    fn loss(
        &self,
        backbone: &Backbone,
        batch: &[&NerExample],
        _rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        match self.forward(backbone, batch, true, true)?.1 {
            Some(loss) => Ok(loss),
            None => bail!("the head returned no loss for {}", self.describe(batch)),
        }
    }

    fn describe(&self, batch: &[&NerExample]) -> String {
        match batch.first() {
            Some(e) => format!("the batch of {} sentences from {}", batch.len(), e.origin),
            None => "an empty batch".into(),
        }
    }

    fn evaluate(
        &self,
        backbone: &Backbone,
        examples: &[NerExample],
        _rng: &mut ChaCha8Rng,
        progress: &Progress,
    ) -> Result<NerEvaluation> {
        let (predicted, loss) = self.predict(backbone, examples, true, progress)?;
        let mut entities = EntityCounts::new();
        let mut tokens = TokenMicroF1::new("O");
        let mut sentences: Vec<TaggedPrediction> = Vec::new();
        // Windows of one sentence are consecutive: join them back before scoring entities.
        for (example, tags) in examples.iter().zip(predicted) {
            let continues = example.window.first_word > 0 && !sentences.is_empty();
            if continues {
                let last = sentences.last_mut().expect("checked");
                last.words.extend(example.words.iter().cloned());
                if let (Some(g), Some(new)) = (&mut last.gold, &example.gold) {
                    g.extend(new.iter().cloned());
                }
                last.predicted.extend(tags);
            } else {
                sentences.push(TaggedPrediction {
                    words: example.words.clone(),
                    gold: example.gold.clone(),
                    predicted: tags,
                });
            }
        }
        for sentence in &sentences {
            let gold = sentence.gold.as_deref().unwrap_or_default();
            entities.add_sentence(gold, &sentence.predicted)?;
            tokens.add_sentence(gold, &sentence.predicted)?;
        }
        Ok(NerEvaluation {
            entities,
            tokens,
            loss,
            sentences,
        })
    }

    fn epoch_line(&self, line: &BTreeMap<String, Value>) -> String {
        let get = |k: &str| line.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        format!(
            "train/loss {:>7.4}  val/loss {:>7.4}  val/f1 {:.4} (P {:.4} R {:.4}; token F1 {:.4})  {:.1} examples/s",
            get("train/loss"),
            get("val/loss"),
            get("val/f1"),
            get("val/precision"),
            get("val/recall"),
            get("val/token_f1"),
            get("train/examples_per_s"),
        )
    }

    fn final_scores(&self, values: &Value) -> String {
        let mut out = format!(
            "  dev entity F1 {:.2} (P {:.2} R {:.2}); token F1 {:.2}\n",
            percent(values, "val/f1"),
            percent(values, "val/precision"),
            percent(values, "val/recall"),
            percent(values, "val/token_f1"),
        );
        if values.get("test/f1").is_some() {
            out.push_str(&format!(
                "  test entity F1 {:.2}\n",
                percent(values, "test/f1")
            ));
        }
        out
    }
}
