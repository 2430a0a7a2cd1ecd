//! Reading a config: a TOML file with an optional `extends` chain, command-line overrides on top, then one
//! typed, validated struct. Unknown keys are errors that name the key and suggest the closest known one.
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::overrides::{Override, OverrideAction};

/// Reads `path` and the files it `extends` (a path or a list of paths, relative to the file that names them;
/// later files win over earlier ones, the file itself over all of them). Tables merge key by key; any other
/// value replaces.
pub fn load_toml_chain(path: &Path) -> Result<Table> {
    load_with_stack(path, &mut Vec::new())
}

fn load_with_stack(path: &Path, stack: &mut Vec<PathBuf>) -> Result<Table> {
    let canonical = path
        .canonicalize()
        .with_context(|| format!("cannot open config {}", path.display()))?;
    if stack.contains(&canonical) {
        let chain: Vec<String> = stack.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "config {} extends itself through {}",
            path.display(),
            chain.join(" -> ")
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    let mut table: Table = text.parse().map_err(|e: toml::de::Error| {
        anyhow!("{}: {}", path.display(), e.to_string().trim_end())
    })?;
    let parents = match table.remove("extends") {
        None => vec![],
        Some(Value::String(p)) => vec![p],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => bail!(
                    "{}: `extends` lists file names, found {other}",
                    path.display()
                ),
            })
            .collect::<Result<_>>()?,
        Some(other) => bail!(
            "{}: `extends` must be a file name or a list of them, found {other}",
            path.display()
        ),
    };
    stack.push(canonical);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut merged = Table::new();
    for parent in parents {
        let parent_table = load_with_stack(&dir.join(&parent), stack)
            .with_context(|| format!("in `extends = \"{parent}\"` of {}", path.display()))?;
        merge(&mut merged, parent_table);
    }
    stack.pop();
    merge(&mut merged, table);
    Ok(merged)
}

/// Deep merge: tables merge key by key, anything else in `top` replaces what is in `base`.
pub fn merge(base: &mut Table, top: Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(t)) => merge(b, t),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Applies single-valued overrides (a sweep override is an error here: sweeps go through `--multirun`).
pub fn apply_overrides(table: &mut Table, overrides: &[Override]) -> Result<()> {
    for o in overrides {
        match &o.action {
            OverrideAction::Set(value) => set_path(table, &o.path, value.clone())
                .with_context(|| format!("cannot apply override `{}`", o.raw))?,
            OverrideAction::Delete => {
                delete_path(table, &o.path).with_context(|| format!("cannot apply override `{}`", o.raw))?
            }
            OverrideAction::Unset => unset_path(table, &o.path),
            OverrideAction::Sweep(values) => bail!(
                "override `{}` gives {} values: add --multirun to sweep over them, or write a list as `{}=[...]`",
                o.raw,
                values.len(),
                o.key()
            ),
        }
    }
    Ok(())
}

/// Sets `path` in `table` to `value`, creating intermediate tables.
pub fn set_path(table: &mut Table, path: &[String], value: Value) -> Result<()> {
    let (last, parents) = path.split_last().ok_or_else(|| anyhow!("empty key"))?;
    let mut node = table;
    for (depth, key) in parents.iter().enumerate() {
        let entry = node
            .entry(key.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        node = match entry {
            Value::Table(t) => t,
            other => bail!(
                "`{}` is a {}, not a table, so `{}` cannot be set",
                path[..=depth].join("."),
                other.type_str(),
                path.join(".")
            ),
        };
    }
    node.insert(last.clone(), value);
    Ok(())
}

/// Looks `path` up in `table`.
pub fn get_path<'a>(table: &'a Table, path: &[String]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut node = table;
    for key in parents {
        node = node.get(key)?.as_table()?;
    }
    node.get(last)
}

/// Removes `path` from `table` if it is there (`key=null`): the key's default applies. Tables left empty stay.
fn unset_path(table: &mut Table, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = table;
    for key in parents {
        match node.get_mut(key).and_then(Value::as_table_mut) {
            Some(t) => node = t,
            None => return,
        }
    }
    node.remove(last);
}

fn delete_path(table: &mut Table, path: &[String]) -> Result<()> {
    let (last, parents) = path.split_last().ok_or_else(|| anyhow!("empty key"))?;
    let mut node = table;
    for key in parents {
        node = node
            .get_mut(key)
            .and_then(Value::as_table_mut)
            .ok_or_else(|| anyhow!("there is no `{}` to delete", path.join(".")))?;
    }
    node.remove(last)
        .map(|_| ())
        .ok_or_else(|| anyhow!("there is no `{}` to delete", path.join(".")))
}

/// Deserialises the merged table into `T`. An unknown key is reported with its full dotted path, where it
/// came from (`origin` for the files, "the command line" when an override set it) and the closest known key.
pub fn deserialize_config<T: DeserializeOwned>(
    table: Table,
    origin: &str,
    overrides: &[Override],
) -> Result<T> {
    let value = Value::Table(table);
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.inner().to_string();
        describe_error(&path, &inner, origin, overrides)
    })
}

fn describe_error(
    path: &str,
    message: &str,
    origin: &str,
    overrides: &[Override],
) -> anyhow::Error {
    let message = message.trim_end();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let parent = path
            .rsplit_once('.')
            .map(|(p, _)| p)
            .filter(|_| path != field);
        let full = match parent {
            Some(p) if !p.is_empty() && p != "." => format!("{p}.{field}"),
            _ => field.to_string(),
        };
        let full = if path.ends_with(field) {
            path.to_string()
        } else {
            full
        };
        let expected = expected_fields(message);
        let from = if overrides
            .iter()
            .any(|o| o.key() == full || full.starts_with(&format!("{}.", o.key())))
        {
            "set on the command line".to_string()
        } else {
            format!("in {origin}")
        };
        let prefix = full
            .rsplit_once('.')
            .map(|(p, _)| format!("{p}."))
            .unwrap_or_default();
        let suggestion = closest(field, &expected)
            .map(|s| format!("; did you mean `{prefix}{s}`?"))
            .unwrap_or_default();
        let known = if expected.is_empty() {
            String::new()
        } else {
            format!(" Known keys here: {}.", expected.join(", "))
        };
        return anyhow!("unknown config key `{full}` ({from}){suggestion}{known}");
    }
    let location = if path.is_empty() || path == "." {
        String::new()
    } else {
        format!("`{path}`: ")
    };
    anyhow!("invalid config ({origin}): {location}{message}")
}

/// The field names serde lists after "expected".
fn expected_fields(message: &str) -> Vec<String> {
    let Some((_, tail)) = message.split_once("expected") else {
        return vec![];
    };
    tail.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// The known name closest to `name`, if any is close enough to be a plausible typo.
pub fn closest(name: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| (strsim::normalized_damerau_levenshtein(name, k), k))
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::super::overrides::parse_override;
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Train {
        #[serde(default)]
        max_epochs: u32,
        #[serde(default)]
        task_learning_rate: f64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        #[serde(default)]
        seed: u64,
        train: Train,
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn extends_chain_merges_tables_and_child_wins() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "base.toml",
            "seed = 1\n[train]\nmax_epochs = 10\ntask_learning_rate = 0.1\n",
        );
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let child = write(
            &dir.path().join("sub"),
            "child.toml",
            "extends = \"../base.toml\"\n[train]\nmax_epochs = 3\n",
        );
        let table = load_toml_chain(&child).unwrap();
        let cfg: Cfg = deserialize_config(table, "child.toml", &[]).unwrap();
        assert_eq!(
            cfg,
            Cfg {
                seed: 1,
                train: Train {
                    max_epochs: 3,
                    task_learning_rate: 0.1
                }
            }
        );
    }

    #[test]
    fn extends_cycle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.toml", "extends = \"b.toml\"\n");
        let b = write(dir.path(), "b.toml", "extends = \"a.toml\"\n");
        let err = format!("{:#}", load_toml_chain(&b).unwrap_err());
        assert!(err.contains("extends itself"), "{err}");
    }

    #[test]
    fn overrides_set_and_delete() {
        let mut table: Table = "seed = 1\n[train]\nmax_epochs = 10\n".parse().unwrap();
        let os: Vec<Override> = [
            "seed=7",
            "train.task_learning_rate=1e-4",
            "~train.max_epochs",
        ]
        .iter()
        .map(|a| parse_override(a).unwrap())
        .collect();
        apply_overrides(&mut table, &os).unwrap();
        let cfg: Cfg = deserialize_config(table, "x", &os).unwrap();
        assert_eq!(
            cfg,
            Cfg {
                seed: 7,
                train: Train {
                    max_epochs: 0,
                    task_learning_rate: 1e-4
                }
            }
        );
    }

    #[test]
    fn sweep_override_without_multirun_is_an_error() {
        let mut table = Table::new();
        let os = vec![parse_override("seed=1,2").unwrap()];
        let err = format!("{:#}", apply_overrides(&mut table, &os).unwrap_err());
        assert!(err.contains("--multirun"), "{err}");
    }

    #[test]
    fn setting_below_a_scalar_is_an_error() {
        let mut table: Table = "seed = 1\n".parse().unwrap();
        let os = vec![parse_override("seed.x=1").unwrap()];
        let err = format!("{:#}", apply_overrides(&mut table, &os).unwrap_err());
        assert!(err.contains("`seed` is a integer, not a table"), "{err}");
        let os = vec![parse_override("~nothing.here").unwrap()];
        assert!(
            format!("{:#}", apply_overrides(&mut table, &os).unwrap_err())
                .contains("no `nothing.here`")
        );
    }

    #[test]
    fn unknown_keys_suggest_the_closest() {
        let mut table: Table = "[train]\nmax_epochs = 1\n".parse().unwrap();
        let os = vec![parse_override("train.task_lerning_rate=1").unwrap()];
        apply_overrides(&mut table, &os).unwrap();
        let err = format!(
            "{:#}",
            deserialize_config::<Cfg>(table, "cfg.toml", &os).unwrap_err()
        );
        assert!(
            err.contains("unknown config key `train.task_lerning_rate`"),
            "{err}"
        );
        assert!(err.contains("set on the command line"), "{err}");
        assert!(
            err.contains("did you mean `train.task_learning_rate`?"),
            "{err}"
        );

        let table: Table = "sed = 3\n[train]\n".parse().unwrap();
        let err = format!(
            "{:#}",
            deserialize_config::<Cfg>(table, "cfg.toml", &[]).unwrap_err()
        );
        assert!(
            err.contains("unknown config key `sed` (in cfg.toml); did you mean `seed`?"),
            "{err}"
        );
    }

    #[test]
    fn type_errors_name_the_key() {
        let table: Table = "[train]\nmax_epochs = \"ten\"\n".parse().unwrap();
        let err = format!(
            "{:#}",
            deserialize_config::<Cfg>(table, "cfg.toml", &[]).unwrap_err()
        );
        assert!(err.contains("`train.max_epochs`"), "{err}");
    }

    #[test]
    fn null_unsets_a_key_so_its_default_applies() {
        let minimal = "name = \"mine\"\n[data]\n[encoders.e]\ncheckpoint = \"some-model\"\n\
                       [train]\nlr_horizon_epochs = 7\n";
        let resolve = |args: &[&str]| {
            let os: Vec<Override> = args.iter().map(|a| parse_override(a).unwrap()).collect();
            let mut table: Table = minimal.parse().unwrap();
            apply_overrides(&mut table, &os).unwrap();
            crate::config::resolve_table(table, "test.toml", &os)
                .unwrap()
                .config
        };
        let plain = resolve(&[]);
        assert_eq!(plain.train.lr_horizon_epochs, Some(7));
        assert_eq!(plain.name, "mine");
        let unset = resolve(&["train.lr_horizon_epochs=null", "name=null"]);
        assert_eq!(unset.train.lr_horizon_epochs, None);
        let default_name = resolve(&["~name"]).name;
        assert_ne!(default_name, "mine");
        assert_eq!(unset.name, default_name);
        assert_ne!(unset.name, "null");
        // Unsetting a key the config does not set (or below a missing table) is not an error.
        let again = resolve(&[
            "train.lr_horizon_epochs=null",
            "train.lr_horizon_epochs=null",
        ]);
        assert_eq!(again.train.lr_horizon_epochs, None);
        let mut table = Table::new();
        let os = vec![parse_override("no.such.table=null").unwrap()];
        apply_overrides(&mut table, &os).unwrap();
        assert!(table.is_empty());
    }
}
