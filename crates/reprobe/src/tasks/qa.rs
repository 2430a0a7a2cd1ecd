//! Extractive question answering (SQuAD 2.0, SPEC §5): question first, context second,
//! `[CLS] q [SEP] context part [SEP]` windows over long contexts (`data.seg_len`, `head.doc_stride`), the
//! start/end head over the aggregated embeddings, and per question the best span over its windows
//! against the null score. `val/f1` is the official SQuAD 2.0 F1 (as a fraction), with `val/exact` and
//! the HasAns/NoAns split; `val/position_f1` is the reference's number (SPEC §1.2: the mean of the start
//! and end position accuracies over the windows).
//!
//! An example is one window; the windows of a question are consecutive (window index 0 starts a
//! question), which is how evaluation joins them back.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use reprobe_corpus::qa::{
    decode_answer, encode_question, ContextTokens, DecodeOptions, Decoded, QaWindow, WindowOptions,
    WindowScores,
};
use reprobe_corpus::readers::squad::{read_squad, SquadQuestion};
use reprobe_metrics::squad::{SquadEvaluator, SquadReport};
use reprobe_models::heads::QuestionAnsweringHead;

use super::batch::Batching;
use super::{percent, Scored, Task};
use crate::config::{HeadConfig, RunConfig};
use crate::progress::Progress;
use crate::train::backbone::Backbone;

/// The start/end head over the stack, with the window and decoding settings.
pub struct QaTask {
    /// The head.
    pub head: QuestionAnsweringHead,
    windows: WindowOptions,
    decode: DecodeOptions,
    batching: Batching,
}

/// One window of a question.
#[derive(Debug, Clone)]
pub struct QaExample {
    /// The question (shared by its windows).
    pub question: Arc<SquadQuestion>,
    /// The model input and target.
    pub window: QaWindow,
}

/// The answer to one question.
#[derive(Debug, Clone)]
pub struct QaPrediction {
    /// The question.
    pub question: Arc<SquadQuestion>,
    /// The best span, the null score and the decision.
    pub decoded: Decoded,
}

/// An evaluation: the official scores, the reference's position accuracies, the loss, the answers.
pub struct QaEvaluation {
    /// The official SQuAD 2.0 dictionary (0–100).
    pub squad: SquadReport,
    /// Fraction of windows whose arg-max start (end) position is the gold one.
    pub position_accuracy: (f64, f64),
    /// Mean loss over batches.
    pub loss: f64,
    /// One per question, in order.
    pub predictions: Vec<QaPrediction>,
}

impl Scored for QaEvaluation {
    fn scores(&self, prefix: &str) -> BTreeMap<String, f64> {
        let s = &self.squad;
        let mut out = BTreeMap::new();
        out.insert(format!("{prefix}/loss"), self.loss);
        out.insert(format!("{prefix}/f1"), s.f1 / 100.0);
        out.insert(format!("{prefix}/exact"), s.exact / 100.0);
        let parts = [
            ("has_ans_f1", s.has_ans_f1),
            ("has_ans_exact", s.has_ans_exact),
            ("no_ans_f1", s.no_ans_f1),
            ("no_ans_exact", s.no_ans_exact),
        ];
        for (name, value) in parts {
            if let Some(v) = value {
                out.insert(format!("{prefix}/{name}"), v / 100.0);
            }
        }
        let (start, end) = self.position_accuracy;
        out.insert(format!("{prefix}/position_f1"), (start + end) / 2.0);
        out
    }
}

impl QaTask {
    /// The windows of `questions` (targets from each question's first answer), and how many questions
    /// had to be cut.
    pub fn encode(
        &self,
        backbone: &Backbone,
        questions: Vec<SquadQuestion>,
        origin: &Path,
    ) -> Result<(Vec<QaExample>, usize)> {
        let mut out = Vec::with_capacity(questions.len());
        let mut truncated = 0;
        // Questions about one paragraph share its context: tokenize it once.
        let mut context: Option<(Arc<str>, ContextTokens)> = None;
        for question in questions {
            let at = || format!("{}: question {}", origin.display(), question.id);
            let tokens = match &context {
                Some((text, tokens)) if Arc::ptr_eq(text, &question.context) => tokens,
                _ => {
                    let tokens = ContextTokens::new(&backbone.tokenizer, &question.context)
                        .with_context(|| format!("{}: cannot tokenize the context", at()))?;
                    &context.insert((Arc::clone(&question.context), tokens)).1
                }
            };
            let answer = question.answers.first().map(|a| (a.start, a.end()));
            let encoded = encode_question(
                &backbone.tokenizer,
                &question.question,
                tokens,
                answer,
                self.windows,
            )
            .with_context(|| format!("{}: cannot encode the question", at()))?;
            truncated += usize::from(encoded.question_truncated);
            let question = Arc::new(question);
            out.extend(encoded.windows.into_iter().map(|window| QaExample {
                question: Arc::clone(&question),
                window,
            }));
        }
        Ok((out, truncated))
    }

    /// Start and end logits stacked (`[B, T, 2]`), and the loss with gold.
    fn forward(
        &self,
        backbone: &Backbone,
        batch: &[&QaExample],
        with_gold: bool,
        train: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let rows: Vec<Vec<u32>> = batch.iter().map(|e| e.window.input_ids.clone()).collect();
        let types: Vec<Vec<u32>> = batch
            .iter()
            .map(|e| e.window.token_type_ids.clone())
            .collect();
        let (encoded, mask) =
            backbone.encode_rows(&rows, Some(&types), self.batching.cache_key(), train)?; // [B, T, D]
        let gold = if with_gold {
            let targets: Vec<u32> = batch
                .iter()
                .flat_map(|e| [e.window.target.0, e.window.target.1])
                .collect();
            Some(Tensor::from_vec(
                targets,
                (batch.len(), 2),
                &backbone.device,
            )?) // [B, 2]
        } else {
            None
        };
        let output = if train {
            self.head
                .forward_t(&encoded.embeddings, &mask, gold.as_ref())?
        } else {
            self.head
                .forward_eval(&encoded.embeddings, &mask, gold.as_ref())?
        };
        let logits = Tensor::stack(&[&output.start_logits, &output.end_logits], 2)?; // [B, T, 2]
        Ok((logits, output.loss))
    }

    /// The answer of every question of `examples` (its windows consecutive), the position accuracies
    /// and the mean loss when gold is known.
    pub fn predict(
        &self,
        backbone: &Backbone,
        examples: &[QaExample],
        with_gold: bool,
        progress: &Progress,
    ) -> Result<(Vec<QaPrediction>, (f64, f64), f64)> {
        // Per window: start and end logits of its real positions.
        let mut logits: Vec<(Vec<f32>, Vec<f32>)> = Vec::with_capacity(examples.len());
        let loss = self.batching.evaluate(
            examples,
            |batch| self.forward(backbone, batch, with_gold, false),
            |batch, stacked| {
                let rows: Vec<Vec<Vec<f32>>> = stacked.to_vec3()?; // [B][T][2]
                for (example, row) in batch.iter().zip(rows) {
                    let n = example.window.input_ids.len();
                    logits.push(row[..n].iter().map(|p| (p[0], p[1])).unzip());
                    progress.inc();
                }
                Ok(())
            },
        )?;
        let (mut right_start, mut right_end) = (0usize, 0usize);
        for (example, (start, end)) in examples.iter().zip(&logits) {
            right_start += usize::from(argmax(start) == example.window.target.0 as usize);
            right_end += usize::from(argmax(end) == example.window.target.1 as usize);
        }
        let n = examples.len().max(1) as f64;
        let accuracy = (right_start as f64 / n, right_end as f64 / n);
        let mut predictions = Vec::new();
        let mut first = 0;
        while first < examples.len() {
            let last = (first + 1..examples.len())
                .find(|&i| examples[i].window.index == 0)
                .unwrap_or(examples.len());
            let windows: Vec<WindowScores<'_>> = (first..last)
                .map(|i| WindowScores {
                    start: &logits[i].0,
                    end: &logits[i].1,
                    offsets: &examples[i].window.offsets,
                })
                .collect();
            let question = Arc::clone(&examples[first].question);
            let decoded = decode_answer(&question.context, &windows, self.decode);
            predictions.push(QaPrediction { question, decoded });
            first = last;
        }
        Ok((predictions, accuracy, loss))
    }
}

/// The first position of the largest value.
fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold(0, |best, (i, &v)| if v > values[best] { i } else { best })
}

/// The official scores of `predictions` against their questions' gold answers.
pub fn squad_scores(predictions: &[QaPrediction]) -> SquadReport {
    let mut evaluator = SquadEvaluator::new();
    for p in predictions {
        let golds: Vec<&str> = p.question.answers.iter().map(|a| a.text.as_str()).collect();
        evaluator.add(&golds, p.decoded.text());
    }
    evaluator.report()
}

/// The questions of a SQuAD file whose answers match their contexts; the others are skipped with one
/// warning line that counts them and shows the first.
pub fn read_questions(path: &Path) -> Result<Vec<SquadQuestion>> {
    let (questions, mismatched) = read_squad(path)?.usable();
    if let Some(first) = mismatched.first() {
        let skipped: std::collections::BTreeSet<&str> =
            mismatched.iter().map(|m| m.id.as_str()).collect();
        eprintln!(
            "warning: {}: {} answer(s) do not match the context at their answer_start; {} question(s) skipped (first: question {}, answer {}: {})",
            path.display(),
            mismatched.len(),
            skipped.len(),
            first.id,
            first.answer,
            first.msg
        );
    }
    Ok(questions)
}

impl Task for QaTask {
    type Example = QaExample;
    type Evaluation = QaEvaluation;

    fn training_labels(_cfg: &RunConfig) -> Result<Option<Vec<String>>> {
        Ok(None)
    }

    fn build(cfg: &RunConfig, backbone: &Backbone, _labels: Option<Vec<String>>) -> Result<Self> {
        let HeadConfig::Qa(head_cfg) = &cfg.head else {
            bail!("`task = \"extractive_qa\"` needs the QA head options in [head]")
        };
        let head = QuestionAnsweringHead::new(backbone.stack.output_size(), &backbone.params)?;
        Ok(QaTask {
            head,
            windows: WindowOptions {
                max_len: cfg.data.seg_len,
                stride: head_cfg.doc_stride,
            },
            decode: DecodeOptions {
                n_best: head_cfg.n_best_size,
                max_answer_len: head_cfg.max_answer_length,
                null_threshold: head_cfg.null_score_diff_threshold,
            },
            batching: Batching::of(backbone, cfg.batch_size(), cfg.seed),
        })
    }

    fn labels(&self) -> Option<&[String]> {
        None
    }

    fn read_split(
        &self,
        backbone: &Backbone,
        path: &Path,
        limit: Option<usize>,
    ) -> Result<(Vec<QaExample>, String)> {
        let mut questions = read_questions(path)?;
        if let Some(n) = limit {
            questions.truncate(n);
        }
        if questions.is_empty() {
            bail!("{} holds no question", path.display());
        }
        let (n, answerable) = (
            questions.len(),
            questions.iter().filter(|q| !q.answers.is_empty()).count(),
        );
        let (examples, truncated) = self.encode(backbone, questions, path)?;
        let subtokens: usize = examples.iter().map(|e| e.window.input_ids.len()).sum();
        let cut = if truncated > 0 {
            format!(", {truncated} long questions cut")
        } else {
            String::new()
        };
        let summary = format!(
            "{n} questions ({answerable} answerable), {} windows, {subtokens} subtokens{cut} ({})",
            examples.len(),
            path.display()
        );
        Ok((examples, summary))
    }

    fn batches(&self, examples: &[QaExample], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        self.batching.epoch(examples.len(), rng)
    }

    fn loss(
        &self,
        backbone: &Backbone,
        batch: &[&QaExample],
        _rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        match self.forward(backbone, batch, true, true)?.1 {
            Some(loss) => Ok(loss),
            None => bail!("the head returned no loss for {}", self.describe(batch)),
        }
    }

    fn describe(&self, batch: &[&QaExample]) -> String {
        match batch.first() {
            Some(e) => format!(
                "the batch of {} windows starting with question {}",
                batch.len(),
                e.question.id
            ),
            None => "an empty batch".into(),
        }
    }

    fn evaluate(
        &self,
        backbone: &Backbone,
        examples: &[QaExample],
        _rng: &mut ChaCha8Rng,
        progress: &Progress,
    ) -> Result<QaEvaluation> {
        let (predictions, position_accuracy, loss) =
            self.predict(backbone, examples, true, progress)?;
        Ok(QaEvaluation {
            squad: squad_scores(&predictions),
            position_accuracy,
            loss,
            predictions,
        })
    }

    fn epoch_line(&self, line: &BTreeMap<String, Value>) -> String {
        let get = |k: &str| line.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        format!(
            "train/loss {:>7.4}  val/loss {:>7.4}  val/f1 {:.4} (EM {:.4}; HasAns F1 {:.4}, NoAns F1 {:.4})  {:.1} examples/s",
            get("train/loss"),
            get("val/loss"),
            get("val/f1"),
            get("val/exact"),
            get("val/has_ans_f1"),
            get("val/no_ans_f1"),
            get("train/examples_per_s"),
        )
    }

    fn final_scores(&self, values: &Value) -> String {
        let mut out = format!(
            "  dev F1 {:.2}, exact match {:.2} (HasAns F1 {:.2}, NoAns F1 {:.2})\n",
            percent(values, "val/f1"),
            percent(values, "val/exact"),
            percent(values, "val/has_ans_f1"),
            percent(values, "val/no_ans_f1"),
        );
        if values.get("test/f1").is_some() {
            out.push_str(&format!(
                "  test F1 {:.2}, exact match {:.2}\n",
                percent(values, "test/f1"),
                percent(values, "test/exact")
            ));
        }
        out
    }
}
