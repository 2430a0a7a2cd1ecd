//! `reprobe export`: a trained run as a Hugging Face model folder (`transformers` loads it with no missing
//! or unexpected keys), so that a source-task encoder can come back as a frozen encoder of a probe.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use reprobe_models::encoders::{hub, Checkpoint};
use reprobe_models::export::{export_hf_with_tokens, ExportHead};

use crate::config::TaskKind;
use crate::run_dir::{RunDir, CHECKPOINTS_DIR};
use crate::tasks::coref::CorefTask;
use crate::tasks::ner::NerTask;
use crate::tasks::pair::PairTask;
use crate::tasks::qa::QaTask;
use crate::tasks::relation::RelationTask;
use crate::tasks::Task;
use crate::train::backbone::Backbone;
use crate::train::load::{load_trained, TrainedModel};

/// Export a trained run as a Hugging Face model folder.
///
/// A NER run becomes a `BertForTokenClassification`, a pair-classification run a
/// `BertForSequenceClassification` (load them with `AutoModelForTokenClassification` /
/// `AutoModelForSequenceClassification`, or the encoder alone with `AutoModel`; an extractive QA run a
/// `BertForQuestionAnswering`, `AutoModelForQuestionAnswering`): config.json with
/// id2label/label2id, model.safetensors with Hugging Face parameter names, and the tokenizer files. That
/// needs a stack of one encoder. With --encoder ID (or for a coreference run) one encoder of the stack is
/// written as a plain `BertModel`.
///
/// The folder (or the run folder itself) can then be the `checkpoint` of an encoder in any config.
///
/// Example:
///   reprobe export runs/mrpc_minilm/2026-12-06_08-00-00 --out models/minilm-mrpc
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ExportArgs {
    /// A run folder.
    run: PathBuf,
    /// Which checkpoint of the run.
    #[arg(long, value_enum, default_value_t = WhichCheckpoint::Best)]
    checkpoint: WhichCheckpoint,
    /// The new folder.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Export this encoder of the stack alone, as a `BertModel`.
    #[arg(long, value_name = "ID")]
    encoder: Option<String>,
}

/// The checkpoints a run keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhichCheckpoint {
    /// The epoch with the best selection metric.
    Best,
    /// The last completed epoch.
    Last,
}

/// Runs `reprobe export`.
pub fn run(args: ExportArgs) -> Result<ExitCode> {
    let checkpoint = match args.checkpoint {
        WhichCheckpoint::Best => RunDir::new(&args.run).best_checkpoint(),
        WhichCheckpoint::Last => RunDir::new(&args.run).checkpoints().join("last"),
    };
    let source = if checkpoint.exists() {
        checkpoint
    } else {
        args.run.clone()
    };
    export(&source, &args.out, args.encoder.as_deref())?;
    println!("exported {} -> {}", source.display(), args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Exports the run or checkpoint folder `source` to `out` (see [`ExportArgs`]).
pub fn export(source: &Path, out: &Path, encoder: Option<&str>) -> Result<()> {
    let (resolved, _, _) = crate::train::load::load_config(source, Some("cpu"))?;
    match resolved.config.task {
        TaskKind::Ner if encoder.is_none() => {
            let trained = load_trained::<NerTask>(source, Some("cpu"))?;
            let head = ExportHead::TokenClassification {
                classifier: trained.task.head.classifier(),
                id2label: trained.task.label_list().to_vec(),
            };
            write(&trained, None, head, out)
        }
        TaskKind::PairClassification if encoder.is_none() => {
            let trained = load_trained::<PairTask>(source, Some("cpu"))?;
            let Some(pooler) = trained.task.head.pooler() else {
                bail!(
                    "the run's head has no pooler (head.pooler = false): BertForSequenceClassification always applies one; export the encoder alone with --encoder ID"
                )
            };
            let head = ExportHead::SequenceClassification {
                pooler,
                classifier: trained.task.head.classifier(),
                id2label: trained.task.label_list().to_vec(),
            };
            write(&trained, None, head, out)
        }
        TaskKind::RelationClassification if encoder.is_none() => {
            let trained = load_trained::<RelationTask>(source, Some("cpu"))?;
            let Some(pooler) = trained.task.head.pooler() else {
                bail!(
                    "the run's head has no pooler (head.pooler = false): BertForSequenceClassification always applies one; export the encoder alone with --encoder ID"
                )
            };
            let head = ExportHead::SequenceClassification {
                pooler,
                classifier: trained.task.head.classifier(),
                id2label: trained.task.label_list().to_vec(),
            };
            write(&trained, None, head, out)
        }
        TaskKind::ExtractiveQa if encoder.is_none() => {
            let trained = load_trained::<QaTask>(source, Some("cpu"))?;
            let head = ExportHead::QuestionAnswering {
                qa_outputs: trained.task.head.qa_outputs(),
            };
            write(&trained, None, head, out)
        }
        TaskKind::Coref => {
            let trained = load_trained::<CorefTask>(source, Some("cpu"))?;
            write_base(&trained, encoder, out)
        }
        TaskKind::Ner => write_base(&load_trained::<NerTask>(source, Some("cpu"))?, encoder, out),
        TaskKind::ExtractiveQa => {
            write_base(&load_trained::<QaTask>(source, Some("cpu"))?, encoder, out)
        }
        TaskKind::PairClassification => write_base(
            &load_trained::<PairTask>(source, Some("cpu"))?,
            encoder,
            out,
        ),
        TaskKind::RelationClassification => write_base(
            &load_trained::<RelationTask>(source, Some("cpu"))?,
            encoder,
            out,
        ),
    }
}

/// One encoder as a `BertModel`, with its checkpoint's pooler when it has one.
fn write_base<T>(trained: &TrainedModel<T>, encoder: Option<&str>, out: &Path) -> Result<()> {
    let id = only_encoder(&trained.backbone, encoder)?;
    let pooler = encoder_checkpoint(trained, &id)?.pooler()?;
    write(trained, Some(&id), ExportHead::BaseModel { pooler }, out)
}

fn write<T>(
    trained: &TrainedModel<T>,
    encoder: Option<&str>,
    head: ExportHead,
    out: &Path,
) -> Result<()> {
    let id = match encoder {
        Some(id) => id.to_string(),
        None => {
            let ids = trained.backbone.stack.ids();
            if ids.len() != 1 || !trained.backbone.params.with_prefix("aggregate").is_empty() {
                bail!(
                    "the run stacks {} encoder(s) [{}] with an aggregator: a task model of Hugging Face has one encoder; export one with --encoder ID",
                    ids.len(),
                    ids.join(", ")
                );
            }
            ids[0].to_string()
        }
    };
    let Some(bert) = trained.backbone.stack.bert_encoder(&id) else {
        bail!("encoder `{id}` is not a BERT encoder of this run")
    };
    let tokenizer_dir = tokenizer_dir(trained)?;
    // Tokens the task added to the tokenizer (relation markers) go into the exported tokenizer files.
    let cfg = &trained.resolved.config;
    let added: Vec<(String, u32)> = crate::with_task!(cfg.task, T => T::added_tokens(cfg))?
        .into_iter()
        .filter_map(|t| trained.backbone.tokenizer.token_to_id(&t).map(|id| (t, id)))
        .collect();
    export_hf_with_tokens(out, bert, head, &tokenizer_dir, &added)
        .with_context(|| format!("cannot export encoder `{id}` to {}", out.display()))?;
    Ok(())
}

/// The encoder to export alone: `--encoder`, or the only one.
fn only_encoder(backbone: &Backbone, encoder: Option<&str>) -> Result<String> {
    let ids = backbone.stack.ids();
    match encoder {
        Some(id) if ids.contains(&id) => Ok(id.to_string()),
        Some(id) => bail!("no encoder `{id}` in this run; it has [{}]", ids.join(", ")),
        None if ids.len() == 1 => Ok(ids[0].to_string()),
        None => bail!(
            "the run has {} encoders [{}]: choose one with --encoder ID",
            ids.len(),
            ids.join(", ")
        ),
    }
}

fn encoder_checkpoint<T>(trained: &TrainedModel<T>, id: &str) -> Result<Checkpoint> {
    let stack = trained.resolved.config.stack_config();
    let dir = hub::resolve(&stack.encoders[id].checkpoint)?;
    Ok(Checkpoint::open(&dir)?)
}

/// The run's tokenizer folder (`data.tokenizer`, else the first encoder's checkpoint).
fn tokenizer_dir<T>(trained: &TrainedModel<T>) -> Result<PathBuf> {
    Ok(trained.backbone.tokenizer.dir().to_path_buf())
}

/// An encoder `checkpoint` that is a run folder (or one of its checkpoint folders) becomes the Hugging
/// Face folder of its first encoder, exported once into `<run>/export/encoder-<checkpoint>-epochNNN/` (a run
/// folder means its best checkpoint).
/// Other values are returned as they are.
pub fn resolve_run_checkpoint(checkpoint: &str) -> Result<String> {
    let path = Path::new(checkpoint);
    let run = RunDir::new(path);
    let run_root = if run.has_config() && run.checkpoints().is_dir() {
        path.to_path_buf()
    } else if path.parent().and_then(Path::file_name) == Some(CHECKPOINTS_DIR.as_ref()) {
        match path.parent().and_then(Path::parent) {
            Some(root) => root.to_path_buf(),
            None => return Ok(checkpoint.to_string()),
        }
    } else {
        return Ok(checkpoint.to_string());
    };
    let source = if run_root == path {
        run.best_checkpoint()
    } else {
        path.to_path_buf()
    };
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "best".into());
    // `best` moves while a run trains: the export is named by the epoch it holds.
    let epoch = crate::fsutil::read_json::<serde_json::Value>(&source.join("scores.json"))
        .ok()
        .and_then(|s| s.get("epoch").and_then(serde_json::Value::as_u64))
        .map(|e| format!("-epoch{e:03}"))
        .unwrap_or_default();
    let out = run_root
        .join("export")
        .join(format!("encoder-{name}{epoch}"));
    if !out.join("config.json").exists() {
        let (resolved, _, _) = crate::train::load::load_config(&source, Some("cpu"))?;
        let order = resolved.config.stack_config().order()?;
        let id = order[0].clone();
        eprintln!(
            "encoder checkpoint {} is a run: exporting its encoder `{id}` to {}",
            path.display(),
            out.display()
        );
        export(&source, &out, Some(&id))?;
    }
    Ok(out.display().to_string())
}
