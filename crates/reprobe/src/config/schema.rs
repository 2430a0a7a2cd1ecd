//! The run config: every key of a `reprobe train` TOML file, with its default and the SPEC section it
//! comes from. Unknown keys are errors (`deny_unknown_fields`), reported with the closest known key by
//! [`super::load::deserialize_config`].
//!
//! ```toml
//! task = "coref"               # or "ner", "pair_classification"
//! name = "ontogum_minilm"        # runs/<name>/<timestamp>/
//! seed = 11
//! device = "cpu"                 # or "cuda:0"
//! dtype = "f32"                  # or "bf16", "f16"
//! compat = "none"                # or "reference": every SPEC §9 behaviour of the reference code
//! logger = ["jsonl", "tensorboard"]  # metrics.jsonl (always) and TensorBoard event files in tb/
//! [data]     train/dev/test files (CoNLL-2012 or prepared jsonlines), tokenizer, seg_len, genres
//! [encoders.<id>]  checkpoint, freeze, truncate, config, vocab_size   (SPEC §2.1)
//! [aggregate]      kind = "mean" | "sum" | "concat" | "attention" + options (SPEC §2.3)
//! [head]           the task head: coref-hoi options (SPEC §3.9), or dropout (and pooler) for ner / pair_classification
//! [optim]          learning rates, eps, weight decay, warm-up, clipping (SPEC §3.6)
//! [train]          epochs, early stopping, test evaluation
//! [cache]          the frozen-feature cache
//! [checkpoints]    names usable as `checkpoint = "<name>"` (paper configs)
//! [slurm]          the `--launcher slurm` options
//! [variants.<name>] named groups of settings, chosen with `variant = "<name>"` (e.g. one per table row)
//! [sweep]          `key = [values]` swept by `--multirun` besides the command line's sweeps
//! ```
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use reprobe_models::aggregate::{AggregateConfig, CompatOptions, CompatPreset};
use reprobe_models::cache::CacheConfig;
use reprobe_models::encoders::stack::{EncoderConfig, StackConfig};
use reprobe_models::heads::coref::CorefConfig;
use reprobe_models::optim::OptimConfig;

/// Genres in coref-hoi's order: the index is the genre id of the genre embedding (unknown document ids
/// get `data.genre_fallback`, by default `bc`, i.e. id 0).
pub const COREF_HOI_GENRES: [&str; 7] = ["bc", "bn", "mz", "nw", "pt", "tc", "wb"];

/// A whole `reprobe train` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// What is trained: `coref` (the default), `ner` (token classification, IOB2) or
    /// `pair_classification` (sentence or sentence-pair classification, e.g. MRPC).
    #[serde(default, skip_serializing_if = "TaskKind::is_coref")]
    pub task: TaskKind,
    /// The run's name: the folder `runs/<name>/` and the sweep folder name. Default `run`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Seeds every random draw (initialisation, dropout, shuffling, cropping). Unlike the reference
    /// (SPEC §9.18), 0 is a seed like any other. Default 12345 (the reference experiments' default).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// `cpu`, `cuda` or `cuda:N` (CUDA needs a build with `--features cuda`). Default `cpu`.
    #[serde(default = "default_device")]
    pub device: String,
    /// Weights and activations of the encoders: `f32`, `bf16` or `f16`. The head, the aggregator and the
    /// optimiser state stay in f32. Default `f32`.
    #[serde(default = "default_dtype")]
    pub dtype: String,
    /// `none`: every SPEC §9 bug fixed; `reference`: the reference code's behaviour, bugs included (sets
    /// the defaults of `compat_options`, `head.pad_top_spans`, `head.gold_crop`, `train.crop_at_eval`).
    /// Default `none`.
    #[serde(default)]
    pub compat: CompatPreset,
    /// Individual compatibility switches of the encoder stack (SPEC §9.5–9.9); unset ones follow `compat`.
    #[serde(default)]
    pub compat_options: CompatOptions,
    /// The name of the `[variants.<name>]` table merged into this config (see below). Default: none.
    #[serde(default)]
    pub variant: Option<String>,
    /// The data.
    pub data: DataConfig,
    /// Names for checkpoints: an encoder whose `checkpoint` is one of these names uses the value (a local
    /// folder or a Hugging Face id). The paper configs name their encoders this way. Default: none.
    #[serde(default)]
    pub checkpoints: BTreeMap<String, String>,
    /// The encoders by id (SPEC §2.1). At least one.
    #[serde(default)]
    pub encoders: BTreeMap<String, EncoderConfig>,
    /// The encoder ids in stack order, the target (query) encoder first. Needed with more than one
    /// encoder. Default: empty.
    #[serde(default)]
    pub encoder_order: Vec<String>,
    /// How the encoders' embeddings are combined (SPEC §2.3). Default `mean`.
    #[serde(default)]
    pub aggregate: AggregateConfig,
    /// L2-normalise each encoder's embeddings before aggregating (SPEC §2.2). Default false.
    #[serde(default)]
    pub normalize_embeddings: bool,
    /// Log the cosine similarity of this encoder's embeddings with the others' each epoch (SPEC §2.2).
    /// Default: none.
    #[serde(default)]
    pub cossim_target: Option<String>,
    /// Where the metrics go: `jsonl` (`metrics.jsonl`, always on: resuming and reports read it) and
    /// `tensorboard` (event files in `tb/`). Default `["jsonl", "tensorboard"]`.
    #[serde(default = "default_logger")]
    pub logger: Vec<LoggerKind>,
    /// The frozen-feature cache.
    #[serde(default)]
    pub cache: CacheConfig,
    /// The task's head: the coref-hoi options (SPEC §3.9) for `coref`, [`TaggingHeadConfig`] for `ner`,
    /// [`ClassifierHeadConfig`] for `pair_classification`. Read by [`super::resolve_table`] once the task
    /// is known.
    #[serde(skip_deserializing)]
    pub head: HeadConfig,
    /// The optimisers (SPEC §3.6).
    #[serde(default)]
    pub optim: OptimConfig,
    /// The training loop.
    #[serde(default)]
    pub train: TrainConfig,
    /// Options of `--launcher slurm`.
    #[serde(default)]
    pub slurm: SlurmConfig,
}

/// `[data]`: where documents come from and how they are cut into model segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Training documents: a CoNLL-2012 file (prepared on the fly) or a prepared `*.jsonlines`.
    pub train: Option<PathBuf>,
    /// Development documents (evaluated after every epoch; early stopping watches them).
    pub dev: Option<PathBuf>,
    /// Test documents (evaluated once with the best weights when `train.eval_test` is true).
    pub test: Option<PathBuf>,
    /// The tokenizer folder (`tokenizer.json`, or `vocab.txt` + `tokenizer_config.json`). Default: the
    /// first encoder's checkpoint folder.
    pub tokenizer: Option<String>,
    /// Maximum subtokens per segment, `[CLS]`/`[SEP]` included (SPEC §6.3). Default 384.
    pub seg_len: usize,
    /// Genre of documents whose id does not start with an OntoNotes genre. Default `bc`.
    pub genre_fallback: String,
    /// The genre list; a genre's position is its id for the genre embedding. Default coref-hoi's
    /// `["bc", "bn", "mz", "nw", "pt", "tc", "wb"]`.
    pub genres: Vec<String>,
    /// Use at most this many training documents (for smoke runs and benchmarks). Default: all.
    pub max_train_docs: Option<usize>,
    /// Use at most this many dev/test documents. Default: all.
    pub max_eval_docs: Option<usize>,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            train: None,
            dev: None,
            test: None,
            tokenizer: None,
            seg_len: 384,
            genre_fallback: "bc".into(),
            genres: COREF_HOI_GENRES.iter().map(|g| g.to_string()).collect(),
            max_train_docs: None,
            max_eval_docs: None,
        }
    }
}

/// A destination of a run's metrics (`logger = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoggerKind {
    /// `metrics.jsonl`, one line per epoch.
    Jsonl,
    /// TensorBoard event files in `tb/`: the epoch metrics and, per step, the loss and learning rates.
    Tensorboard,
}

impl LoggerKind {
    /// The name as written in configs.
    pub fn name(&self) -> &'static str {
        match self {
            LoggerKind::Jsonl => "jsonl",
            LoggerKind::Tensorboard => "tensorboard",
        }
    }
}

fn default_logger() -> Vec<LoggerKind> {
    vec![LoggerKind::Jsonl, LoggerKind::Tensorboard]
}

/// The task a run trains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Coreference resolution with the coref-hoi head, one document per step.
    #[default]
    Coref,
    /// Named-entity recognition as token classification (IOB2 tags).
    Ner,
    /// Classification of a sentence or a sentence pair from its `[CLS]` embedding (MRPC).
    PairClassification,
    /// Extractive question answering: an answer span of a context, or none (SQuAD 2.0).
    ExtractiveQa,
    /// The relation between two marked arguments of a sentence (SemEval-2010 Task 8, TACRED).
    RelationClassification,
}

impl TaskKind {
    /// Whether this is the default task (`task` is then left out of a rendered config).
    pub fn is_coref(&self) -> bool {
        *self == TaskKind::Coref
    }

    /// The name as written in configs.
    pub fn name(&self) -> &'static str {
        match self {
            TaskKind::Coref => "coref",
            TaskKind::Ner => "ner",
            TaskKind::PairClassification => "pair_classification",
            TaskKind::ExtractiveQa => "extractive_qa",
            TaskKind::RelationClassification => "relation_classification",
        }
    }
}

/// `[head]`, whose keys depend on the task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum HeadConfig {
    /// The coref-hoi head.
    Coref(CorefConfig),
    /// The token-classification head of `ner`.
    Tagging(TaggingHeadConfig),
    /// The `[CLS]` classifier of `pair_classification`.
    Classifier(ClassifierHeadConfig),
    /// The start/end classifier of `extractive_qa`.
    Qa(QaHeadConfig),
    /// The marked-argument classifier of `relation_classification`.
    Relation(RelationHeadConfig),
}

impl Default for HeadConfig {
    fn default() -> Self {
        HeadConfig::Coref(CorefConfig::default())
    }
}

/// `[head]` of `task = "ner"`: dropout → linear over the aggregated embeddings (SPEC §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaggingHeadConfig {
    /// Dropout before the classifier. Default 0.1.
    pub dropout: f64,
}

impl Default for TaggingHeadConfig {
    fn default() -> Self {
        TaggingHeadConfig { dropout: 0.1 }
    }
}

/// `[head]` of `task = "pair_classification"`: the `[CLS]` embedding → pooler → dropout → linear, as
/// Hugging Face's `BertForSequenceClassification`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifierHeadConfig {
    /// Dropout before the classifier. Default 0.1.
    pub dropout: f64,
    /// Pass `[CLS]` through a pooler (dense + tanh), initialised from the first encoder's checkpoint when
    /// it has one. Default true.
    pub pooler: bool,
}

impl Default for ClassifierHeadConfig {
    fn default() -> Self {
        ClassifierHeadConfig {
            dropout: 0.1,
            pooler: true,
        }
    }
}

/// `[head]` of `task = "relation_classification"`: the arguments marked `[H] … [/H]`, `[T] … [/T]` (special
/// tokens added to the tokenizer and to every encoder's word embeddings), then the `[CLS]` embedding →
/// pooler → dropout → linear (SPEC §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelationHeadConfig {
    /// Dropout before the classifier. Default 0.1 (the reference defines it but never applies it,
    /// SPEC §9.11).
    pub dropout: f64,
    /// Pass `[CLS]` through a pooler (dense + tanh), initialised from the first encoder's checkpoint, as
    /// `BertForSequenceClassification` (what `reprobe export` writes); false reads `[CLS]` directly, as
    /// the reference's relation head. Default true.
    pub pooler: bool,
    /// Entity types whose typed markers `[H=TYPE] [SEP] [T=TYPE] [SEP]` are appended after the sentence
    /// (TACRED's `subj_type` / `obj_type`, the reference's `append_markers`); every example's types must
    /// be listed. Empty (the default): no typed markers (SemEval has no entity types).
    pub entity_types: Vec<String>,
}

impl Default for RelationHeadConfig {
    fn default() -> Self {
        RelationHeadConfig {
            dropout: 0.1,
            pooler: true,
            entity_types: Vec::new(),
        }
    }
}

/// `[head]` of `task = "extractive_qa"`: `Linear(H, 2)` → start and end logits over the aggregated
/// embeddings, as `BertForQuestionAnswering` (SPEC §5), with the windows and the decoding of transformers'
/// `run_qa.py` (the window length is `data.seg_len`, 384 there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QaHeadConfig {
    /// Context subtokens shared by consecutive windows of a long context (`doc_stride`). Default 128.
    pub doc_stride: usize,
    /// Longest answer in subtokens. Default 30.
    pub max_answer_length: usize,
    /// Start and end candidates per window when decoding (`n_best_size`). Default 20.
    pub n_best_size: usize,
    /// Answer "" when the null score beats the best span's by more than this
    /// (`null_score_diff_threshold`). Default 0.
    pub null_score_diff_threshold: f64,
}

impl Default for QaHeadConfig {
    fn default() -> Self {
        QaHeadConfig {
            doc_stride: 128,
            max_answer_length: 30,
            n_best_size: 20,
            null_score_diff_threshold: 0.0,
        }
    }
}

impl QaHeadConfig {
    /// Checks the values against the run's window length (`data.seg_len`) and batch size.
    pub fn validate(&self, cfg: &RunConfig) -> anyhow::Result<()> {
        if 2 * self.doc_stride + 4 > cfg.data.seg_len {
            anyhow::bail!(
                "`head.doc_stride` = {} leaves no room for the question in windows of `data.seg_len` = {} (need seg_len ≥ 2·doc_stride + 4)",
                self.doc_stride,
                cfg.data.seg_len
            );
        }
        if self.max_answer_length == 0 || self.n_best_size == 0 {
            anyhow::bail!("`head.max_answer_length` and `head.n_best_size` must be at least 1");
        }
        if !self.null_score_diff_threshold.is_finite() {
            anyhow::bail!("`head.null_score_diff_threshold` must be a finite number");
        }
        if cfg.train.batch_size == Some(0) {
            anyhow::bail!("`train.batch_size` must be at least 1");
        }
        Ok(())
    }
}

/// `[train]`: epochs, early stopping and what is evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Maximum number of epochs; also the learning-rate horizon unless `lr_horizon_epochs` is set
    /// (SPEC §3.6). Default 100 (the paper runs).
    pub max_epochs: usize,
    /// Early stopping never stops before this many epochs (SPEC §7). Default 5.
    pub min_epochs: usize,
    /// Stop after this many epochs without a better `val/f1`; 0 = never stop early. Default 5.
    pub patience: usize,
    /// The schedules' horizon `T` in epochs (SPEC §9.4: the reference uses `max_epochs`, so results depend
    /// on it even when training stops early). Default: `max_epochs`.
    pub lr_horizon_epochs: Option<usize>,
    /// Evaluate the test split with the best weights at the end. Default false (the paper never does).
    pub eval_test: bool,
    /// Compatibility (SPEC §9.2): crop long dev/test documents to `head.max_training_sentences` segments at
    /// evaluation too, as the reference does. Default false (`compat = "reference"`: true).
    pub crop_at_eval: Option<bool>,
    /// Keep a copy of the weights of every epoch's end besides `best` and `last`. Default false.
    pub keep_every_epoch: bool,
    /// Examples per optimiser step of the sentence-level tasks (`ner`, `pair_classification`), padded to
    /// the longest of the batch. Coreference trains one document per step and refuses any other value.
    /// Default: 32 (sentence tasks), 1 (coref).
    pub batch_size: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            max_epochs: 100,
            min_epochs: 5,
            patience: 5,
            lr_horizon_epochs: None,
            eval_test: false,
            crop_at_eval: None,
            keep_every_epoch: false,
            batch_size: None,
        }
    }
}

fn default_name() -> String {
    "run".into()
}

fn default_seed() -> u64 {
    12345
}

fn default_device() -> String {
    "cpu".into()
}

fn default_dtype() -> String {
    "f32".into()
}

impl RunConfig {
    /// The stack part of the config, with `[checkpoints]` names resolved.
    pub fn stack_config(&self) -> StackConfig {
        let mut encoders = self.encoders.clone();
        for enc in encoders.values_mut() {
            if let Some(path) = self.checkpoints.get(&enc.checkpoint) {
                enc.checkpoint = path.clone();
            }
        }
        StackConfig {
            encoders,
            encoder_order: self.encoder_order.clone(),
            aggregate: self.aggregate.clone(),
            normalize_embeddings: self.normalize_embeddings,
            cossim_target: self.cossim_target.clone(),
            compat: self.compat,
            compat_options: self.compat_options,
            cache: self.cache.clone(),
        }
    }

    /// The coref-hoi head's options, or an error naming the task when it is not `coref`.
    pub fn coref_head(&self) -> anyhow::Result<&CorefConfig> {
        match &self.head {
            HeadConfig::Coref(c) => Ok(c),
            _ => anyhow::bail!(
                "this needs a coreference run; the config's task is `{}`",
                self.task.name()
            ),
        }
    }

    /// Examples per training step.
    pub fn batch_size(&self) -> usize {
        match self.task {
            TaskKind::Coref => 1,
            _ => self.train.batch_size.unwrap_or(32),
        }
    }

    /// Whether long evaluation documents are cropped (SPEC §9.2).
    pub fn crop_at_eval(&self) -> bool {
        self.train
            .crop_at_eval
            .unwrap_or(self.compat == CompatPreset::Reference)
    }
}

/// The `[slurm]` table of a config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmConfig {
    /// `--partition`; none = the cluster default.
    pub partition: Option<String>,
    /// `--time` limit per job, e.g. `"24:00:00"`.
    pub time: Option<String>,
    /// GPUs per job (`--gres=gpu:N`); 0 = none.
    pub gpus: u32,
    /// `--cpus-per-task`.
    pub cpus_per_task: Option<u32>,
    /// `--mem`, e.g. `"32G"`.
    pub mem: Option<String>,
    /// At most this many array tasks at once (`--array=...%N`).
    pub max_parallel: Option<u32>,
    /// Extra lines put verbatim after the generated `#SBATCH` lines (e.g. `"#SBATCH --account=nlp"` or
    /// `"module load cuda"`).
    pub extra: Vec<String>,
}
