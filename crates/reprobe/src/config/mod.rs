//! Configuration: TOML files with `extends`, Hydra-style overrides, sweeps, and the resolved run config.
//!
//! Raw input (file chain + `key=value` arguments) becomes one validated [`RunConfig`] in [`resolve`];
//! nothing downstream reads raw strings.
pub mod load;
pub mod overrides;
pub mod schema;

use std::path::Path;

use anyhow::{Context, Result};
use toml::{Table, Value};

pub use schema::{
    ClassifierHeadConfig, HeadConfig, LoggerKind, RelationHeadConfig, RunConfig, TaggingHeadConfig,
    TaskKind,
};

use load::{apply_overrides, deserialize_config, load_toml_chain, set_path};
use overrides::Override;

/// A resolved config: the typed struct and the TOML table it was read from (what `config.toml` of a run
/// folder holds).
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The validated config.
    pub config: RunConfig,
    /// The fully resolved TOML (extends merged, overrides applied, defaults filled in, paths absolute).
    pub table: Table,
}

impl Resolved {
    /// The resolved config as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(&self.table)
            .unwrap_or_else(|e| format!("# cannot render the config: {e}\n"))
    }
}

/// Marks an error in what the user wrote (a config file, a `key=value` override) as opposed to one at run time:
/// `reprobe` exits with 2 for it, as for a command-line usage error, and with 1 for a runtime error. It prints
/// as the error it wraps; contexts added around it keep the mark (see [`is_input_error`]).
#[derive(Debug)]
pub struct InputError(anyhow::Error);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for InputError {}

/// Marks `err` as an error in the user's input ([`InputError`]).
pub fn input_error(err: anyhow::Error) -> anyhow::Error {
    if is_input_error(&err) {
        err
    } else {
        anyhow::Error::new(InputError(err))
    }
}

/// Whether `err` (or an error it wraps) is an error in the user's input.
pub fn is_input_error(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<InputError>())
}

/// Reads `path` (with its `extends` chain), applies `overrides`, and validates the result. Its errors are
/// [`InputError`]s.
pub fn resolve(path: &Path, overrides: &[Override]) -> Result<Resolved> {
    resolve_chain(path, overrides).map_err(input_error)
}

fn resolve_chain(path: &Path, overrides: &[Override]) -> Result<Resolved> {
    let mut table = load_toml_chain(path)?;
    table.remove("sweep");
    // The variant first (an override may choose it), so that overrides win over the variant's settings.
    if let Some(choice) = overrides.iter().rev().find(|o| o.path == ["variant"]) {
        if let overrides::OverrideAction::Set(v) = &choice.action {
            table.insert("variant".into(), v.clone());
        }
    }
    apply_variant(&mut table, &path.display().to_string())?;
    apply_overrides(&mut table, overrides)?;
    resolve_table(table, &path.display().to_string(), overrides)
}

/// The `[sweep]` table of a config as sweep overrides (`key = [v1, v2]` sweeps `key`), leaving out keys that
/// `given` already sets: what `--multirun` expands besides the command line.
pub fn config_sweeps(path: &Path, given: &[Override]) -> Result<Vec<Override>> {
    config_sweeps_of(path, given).map_err(input_error)
}

fn config_sweeps_of(path: &Path, given: &[Override]) -> Result<Vec<Override>> {
    let table = load_toml_chain(path)?;
    let Some(sweep) = table.get("sweep") else {
        return Ok(vec![]);
    };
    let Some(sweep) = sweep.as_table() else {
        anyhow::bail!(
            "{}: `sweep` must be a table of `key = [values]`",
            path.display()
        );
    };
    let mut out = Vec::new();
    for (key, values) in sweep {
        let Some(values) = values.as_array() else {
            anyhow::bail!(
                "{}: `sweep.\"{key}\"` must be a list of values",
                path.display()
            );
        };
        let o = Override {
            path: key.split('.').map(str::to_string).collect(),
            action: overrides::OverrideAction::Sweep(values.clone()),
            raw: format!(
                "{key}={}",
                values
                    .iter()
                    .map(overrides::display_value)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        if !given.iter().any(|g| g.path == o.path) {
            out.push(o);
        }
    }
    Ok(out)
}

/// Validates an already merged table (a run folder's `config.toml`, or a file chain with overrides). Its errors
/// are [`InputError`]s.
pub fn resolve_table(table: Table, origin: &str, overrides: &[Override]) -> Result<Resolved> {
    resolve_merged(table, origin, overrides).map_err(input_error)
}

fn resolve_merged(mut table: Table, origin: &str, overrides: &[Override]) -> Result<Resolved> {
    apply_variant(&mut table, origin)?;
    apply_compat_preset(&mut table);
    fill_encoder_order(&mut table);
    let head = table.remove("head");
    let mut config: RunConfig = deserialize_config(table, origin, overrides)?;
    config.head = deserialize_head(config.task, head, origin, overrides)?;
    validate(&config).with_context(|| format!("invalid config ({origin})"))?;
    let config = absolutize_paths(config)?;
    // Render the typed config back: every default filled in, so a run folder's config.toml says everything.
    let table = Table::try_from(&config).context("cannot render the resolved config as TOML")?;
    Ok(Resolved { config, table })
}

/// `[head]` read as the head of `task`, its keys reported as `head.<key>`.
fn deserialize_head(
    task: TaskKind,
    head: Option<Value>,
    origin: &str,
    overrides: &[Override],
) -> Result<HeadConfig> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct HeadOnly<T> {
        #[serde(default)]
        head: T,
    }
    fn read<T: serde::de::DeserializeOwned + Default>(
        head: Option<Value>,
        origin: &str,
        overrides: &[Override],
    ) -> Result<T> {
        let mut table = Table::new();
        if let Some(head) = head {
            table.insert("head".into(), head);
        }
        Ok(deserialize_config::<HeadOnly<T>>(table, origin, overrides)?.head)
    }
    Ok(match task {
        TaskKind::Coref => HeadConfig::Coref(read(head, origin, overrides)?),
        TaskKind::Ner => HeadConfig::Tagging(read(head, origin, overrides)?),
        TaskKind::PairClassification => HeadConfig::Classifier(read(head, origin, overrides)?),
        TaskKind::ExtractiveQa => HeadConfig::Qa(read(head, origin, overrides)?),
        TaskKind::RelationClassification => HeadConfig::Relation(read(head, origin, overrides)?),
    })
}

/// `variant = "name"` merges the table `[variants.name]` into the config (a named group of settings, e.g.
/// one row of a paper table); the `[variants]` tables themselves are dropped.
fn apply_variant(table: &mut Table, origin: &str) -> Result<()> {
    // Without `[variants]` tables a `variant` key only records the variant already merged (a run's config).
    let Some(Value::Table(variants)) = table.remove("variants") else {
        return Ok(());
    };
    let Some(name) = table
        .get("variant")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Ok(());
    };
    match variants.get(&name) {
        Some(Value::Table(v)) => {
            load::merge(table, v.clone());
            Ok(())
        }
        _ => {
            let known: Vec<String> = variants.keys().cloned().collect();
            let hint = load::closest(&name, &known)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            anyhow::bail!(
                "unknown variant `{name}` ({origin}){hint} Known variants: {}",
                known.join(", ")
            )
        }
    }
}

/// `compat = "reference"` also switches the head's and the train loop's compatibility options on, unless
/// the config sets them.
fn apply_compat_preset(table: &mut Table) {
    if table.get("compat").and_then(Value::as_str) != Some("reference") {
        return;
    }
    if table
        .get("task")
        .and_then(Value::as_str)
        .is_some_and(|t| t != "coref")
    {
        return;
    }
    let defaults: [(&[&str], Value); 3] = [
        (&["head", "pad_top_spans"], Value::Boolean(true)),
        (&["head", "gold_crop"], Value::String("index_sliced".into())),
        (&["train", "crop_at_eval"], Value::Boolean(true)),
    ];
    for (path, value) in defaults {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        if load::get_path(table, &path).is_none() {
            // Only fails below a non-table, which deserialisation reports with the key.
            let _ = set_path(table, &path, value);
        }
    }
}

/// Without an explicit `encoder_order`, the encoders are stacked in the order their tables appear.
fn fill_encoder_order(table: &mut Table) {
    if table.contains_key("encoder_order") {
        return;
    }
    if let Some(Value::Table(encoders)) = table.get("encoders") {
        let order: Vec<Value> = encoders.keys().map(|k| Value::String(k.clone())).collect();
        if order.len() > 1 {
            table.insert("encoder_order".into(), Value::Array(order));
        }
    }
}

fn validate(cfg: &RunConfig) -> Result<()> {
    match &cfg.head {
        HeadConfig::Coref(head) => {
            head.validate()?;
            if cfg.data.genres.len() > head.num_genres {
                anyhow::bail!(
                    "`data.genres` has {} genres but `head.num_genres` = {}",
                    cfg.data.genres.len(),
                    head.num_genres
                );
            }
            if cfg.train.batch_size.is_some_and(|b| b != 1) {
                anyhow::bail!(
                    "`train.batch_size` = {}: coreference trains one document per step; leave it unset",
                    cfg.train.batch_size.unwrap_or(1)
                );
            }
        }
        HeadConfig::Tagging(TaggingHeadConfig { dropout })
        | HeadConfig::Classifier(ClassifierHeadConfig { dropout, .. })
        | HeadConfig::Relation(RelationHeadConfig { dropout, .. }) => {
            if !(0.0..1.0).contains(dropout) {
                anyhow::bail!("`head.dropout` = {dropout} must be in [0, 1)");
            }
            if cfg.train.batch_size == Some(0) {
                anyhow::bail!("`train.batch_size` must be at least 1");
            }
        }
        HeadConfig::Qa(head) => head.validate(cfg)?,
    }
    cfg.optim.validate()?;
    cfg.stack_config().order()?;
    if cfg.data.seg_len < 3 {
        anyhow::bail!(
            "`data.seg_len` = {} leaves no room for [CLS], a subtoken and [SEP]",
            cfg.data.seg_len
        );
    }
    if !cfg.data.genres.contains(&cfg.data.genre_fallback) {
        anyhow::bail!(
            "`data.genre_fallback` = {:?} is not in `data.genres` = {:?}",
            cfg.data.genre_fallback,
            cfg.data.genres
        );
    }
    if cfg.train.max_epochs == 0 {
        anyhow::bail!("`train.max_epochs` must be at least 1");
    }
    if !["f32", "bf16", "f16"].contains(&cfg.dtype.as_str()) {
        anyhow::bail!(
            "`dtype` = {:?}: use \"f32\", \"bf16\" or \"f16\"",
            cfg.dtype
        );
    }
    crate::device::parse_device(&cfg.device)
        .with_context(|| format!("`device` = {:?}", cfg.device))?;
    if !cfg.logger.contains(&LoggerKind::Jsonl) {
        let given: Vec<&str> = cfg.logger.iter().map(|l| l.name()).collect();
        anyhow::bail!(
            "`logger` = {given:?} lacks \"jsonl\": metrics.jsonl is always written (resuming and reports read it); use [\"jsonl\"] or [\"jsonl\", \"tensorboard\"]"
        );
    }
    Ok(())
}

/// `a/b/../c` → `a/c`, lexically (symbolic links are not followed).
fn normalize(path: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Local paths become absolute, so a run folder's config works from any working directory (and in sweep
/// jobs). Names that are not local paths (Hugging Face ids) stay as they are.
fn absolutize_paths(mut cfg: RunConfig) -> Result<RunConfig> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let abs = |p: &Path| normalize(&cwd.join(p));
    for p in [&mut cfg.data.train, &mut cfg.data.dev, &mut cfg.data.test]
        .into_iter()
        .flatten()
    {
        *p = abs(p);
    }
    let local = |s: &mut String| {
        let p = Path::new(s.as_str());
        if !p.is_absolute() && p.exists() {
            *s = abs(p).display().to_string();
        }
    };
    if let Some(t) = cfg.data.tokenizer.as_mut() {
        local(t);
    }
    for enc in cfg.encoders.values_mut() {
        local(&mut enc.checkpoint);
    }
    for path in cfg.checkpoints.values_mut() {
        local(path);
    }
    cfg.cache.dir = abs(&cfg.cache.dir);
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_text(text: &str) -> Result<Resolved> {
        resolve_table(text.parse().unwrap(), "test.toml", &[])
    }

    const MINIMAL: &str = "[data]\n[encoders.e]\ncheckpoint = \"some-model\"\n";

    #[test]
    fn logger_defaults_to_jsonl_and_tensorboard_and_must_keep_jsonl() {
        let resolved = resolve_text(MINIMAL).unwrap();
        assert_eq!(
            resolved.config.logger,
            [LoggerKind::Jsonl, LoggerKind::Tensorboard]
        );
        assert!(
            resolved
                .to_toml()
                .contains("logger = [\n    \"jsonl\",\n    \"tensorboard\",\n]")
                || resolved
                    .to_toml()
                    .contains("logger = [\"jsonl\", \"tensorboard\"]"),
            "{}",
            resolved.to_toml()
        );
        let only = resolve_text(&format!("logger = [\"jsonl\"]\n{MINIMAL}")).unwrap();
        assert_eq!(only.config.logger, [LoggerKind::Jsonl]);
        let err = format!(
            "{:#}",
            resolve_text(&format!("logger = [\"tensorboard\"]\n{MINIMAL}")).unwrap_err()
        );
        assert!(err.contains("lacks \"jsonl\""), "{err}");
        assert!(err.contains("[\"tensorboard\"]"), "{err}");
        let err = format!(
            "{:#}",
            resolve_text(&format!("logger = [\"jsonl\", \"wandb\"]\n{MINIMAL}")).unwrap_err()
        );
        assert!(err.contains("wandb"), "{err}");
    }

    #[test]
    fn config_errors_are_input_errors_and_print_unchanged() {
        let err = resolve_text("sed = 3\n[data]\n").unwrap_err();
        assert!(is_input_error(&err));
        let wrapped = err.context("in the sweep");
        assert!(is_input_error(&wrapped));
        let text = format!("{wrapped:#}");
        assert!(
            text.starts_with("in the sweep: unknown config key `sed`"),
            "{text}"
        );
        assert!(!is_input_error(&anyhow::anyhow!("cannot read data.conll")));
        let err = overrides::parse_override("seed").unwrap_err();
        assert!(is_input_error(&err), "{err:#}");
    }
}
