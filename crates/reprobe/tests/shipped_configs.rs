//! Every config under `configs/` parses and validates (an unknown or mistyped key fails here, not an hour
//! into a run), and the task configs name their task.
use std::path::{Path, PathBuf};

use reprobe::config::overrides::{Override, OverrideAction};
use reprobe::config::{config_sweeps, resolve, HeadConfig, Resolved, TaskKind};

fn configs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            configs(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml")
            // `*_base.toml` files are only extended by others (no encoders of their own).
            && !path.to_string_lossy().ends_with("_base.toml")
        {
            out.push(path);
        }
    }
}

#[test]
fn every_shipped_config_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut paths = Vec::new();
    configs(&root, &mut paths);
    paths.sort();
    assert!(paths.len() > 10, "found only {} configs", paths.len());
    for path in &paths {
        for resolved in resolve_every_variant(path) {
            check_task(path, &resolved);
        }
    }
}

/// The config resolved once per value of its swept `variant` (other swept keys at their first value), or
/// once when it sweeps nothing.
fn resolve_every_variant(path: &Path) -> Vec<Resolved> {
    let sweeps = config_sweeps(path, &[]).unwrap();
    let first: Vec<Override> = sweeps
        .iter()
        .filter(|o| o.path != ["variant"])
        .map(|o| match &o.action {
            OverrideAction::Sweep(values) => Override {
                path: o.path.clone(),
                action: OverrideAction::Set(values[0].clone()),
                raw: o.raw.clone(),
            },
            _ => o.clone(),
        })
        .collect();
    let variants: Vec<Option<toml::Value>> = match sweeps.iter().find(|o| o.path == ["variant"]) {
        Some(Override {
            action: OverrideAction::Sweep(values),
            ..
        }) => values.iter().cloned().map(Some).collect(),
        _ => vec![None],
    };
    variants
        .into_iter()
        .map(|variant| {
            let mut overrides = first.clone();
            if let Some(v) = variant {
                overrides.push(Override {
                    path: vec!["variant".into()],
                    action: OverrideAction::Set(v.clone()),
                    raw: format!("variant={v}"),
                });
            }
            resolve(path, &overrides).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
        })
        .collect()
}

fn check_task(path: &Path, resolved: &Resolved) {
    {
        let folder = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .unwrap();
        let expected = match folder {
            "ner" => TaskKind::Ner,
            "pair" => TaskKind::PairClassification,
            "qa" => TaskKind::ExtractiveQa,
            "re" => TaskKind::RelationClassification,
            _ => TaskKind::Coref,
        };
        let cfg = &resolved.config;
        assert_eq!(cfg.task, expected, "{}", path.display());
        let head_fits = matches!(
            (&cfg.head, cfg.task),
            (HeadConfig::Coref(_), TaskKind::Coref)
                | (HeadConfig::Tagging(_), TaskKind::Ner)
                | (HeadConfig::Classifier(_), TaskKind::PairClassification)
                | (HeadConfig::Qa(_), TaskKind::ExtractiveQa)
                | (HeadConfig::Relation(_), TaskKind::RelationClassification)
        );
        assert!(head_fits, "{}: head {:?}", path.display(), cfg.head);
    }
}

#[test]
fn a_coref_key_in_a_ner_head_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "task = \"ner\"\n[data]\ntrain = \"t.conll\"\n[encoders.a]\ncheckpoint = \"x\"\n[head]\nffnn_size = 3\n",
    )
    .unwrap();
    let err = format!("{:#}", resolve(&path, &[]).unwrap_err());
    assert!(err.contains("head.ffnn_size"), "{err}");
    assert!(err.contains("dropout"), "the known keys are listed: {err}");
}

/// Every `configs/….toml` that the code (help texts, messages) names exists.
#[test]
fn configs_named_in_the_help_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut sources = Vec::new();
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    rust_files(&root.join("crates/reprobe/src"), &mut sources);
    let mut named = 0;
    for source in sources {
        let text = std::fs::read_to_string(&source).unwrap();
        for (start, _) in text.match_indices("configs/") {
            let rest = &text[start..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "/_.-".contains(c)))
                .unwrap_or(rest.len());
            let name = &rest[..end];
            if name.ends_with(".toml") {
                named += 1;
                assert!(
                    root.join(name).exists(),
                    "{} names {name}, which does not exist",
                    source.display()
                );
            }
        }
    }
    assert!(named >= 5, "found only {named} config names");
}
