//! Turning a model name into a checkpoint folder: a local folder, the Hugging Face cache, the hub.
//!
//! In this order, the first that works wins (DESIGN "Offline by default, online when allowed"):
//! 1. `name` is an existing folder;
//! 2. a snapshot in a Hugging Face cache (`$HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`):
//!    `models--ORG--NAME/snapshots/REV/` with `config.json` and a weight file, the revision of
//!    `refs/main` first, then any other snapshot;
//! 3. a download from the hub with the `hf-hub` crate (blocking, rustls) into the first cache, unless
//!    `HF_HUB_OFFLINE` is set: `config.json`, the weights and the tokenizer files the repository has
//!    ([`TOKENIZER_FILES`]), so that the folder also serves as the run's tokenizer. Network errors only
//!    count when every option failed.
//!
//! The error lists every place tried and why it did not do.
use std::path::{Path, PathBuf};

use super::checkpoint::{CONFIG_FILE, PYTORCH_FILE, SAFETENSORS_FILE};
use crate::{Error, Result};

/// The tokenizer files a download fetches next to the weights, each if the repository has it (what
/// `SubwordTokenizer::from_dir` of reprobe-corpus reads).
pub const TOKENIZER_FILES: [&str; 5] = [
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
];

/// Where [`resolve_with`] looks.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// Hugging Face hub caches, searched in order (folders holding `models--ORG--NAME`); a download goes
    /// into the first.
    pub cache_dirs: Vec<PathBuf>,
    /// Whether to try downloading from the hub.
    pub allow_download: bool,
    /// Another hub address (`HF_ENDPOINT`), if any.
    pub endpoint: Option<String>,
}

impl ResolveOptions {
    /// The options the environment gives: the caches of `HF_HUB_CACHE`, `HF_HOME` (`$HF_HOME/hub`) and
    /// `~/.cache/huggingface/hub`; downloads unless `HF_HUB_OFFLINE` is `1`/`true`/`yes`; `HF_ENDPOINT`.
    pub fn from_env() -> Self {
        let mut cache_dirs = Vec::new();
        if let Some(dir) = std::env::var_os("HF_HUB_CACHE") {
            cache_dirs.push(PathBuf::from(dir));
        }
        if let Some(home) = std::env::var_os("HF_HOME") {
            cache_dirs.push(PathBuf::from(home).join("hub"));
        }
        if let Some(home) = std::env::var_os("HOME") {
            cache_dirs.push(PathBuf::from(home).join(".cache/huggingface/hub"));
        }
        cache_dirs.dedup();
        let offline = std::env::var("HF_HUB_OFFLINE")
            .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
            .unwrap_or(false);
        ResolveOptions {
            cache_dirs,
            allow_download: !offline,
            endpoint: std::env::var("HF_ENDPOINT").ok(),
        }
    }
}

/// Resolves `name_or_dir` with the environment's options ([`ResolveOptions::from_env`]).
pub fn resolve(name_or_dir: &str) -> Result<PathBuf> {
    resolve_with(name_or_dir, &ResolveOptions::from_env())
}

/// Resolves `name_or_dir` to a checkpoint folder; see the module doc for the order.
pub fn resolve_with(name_or_dir: &str, options: &ResolveOptions) -> Result<PathBuf> {
    let mut tried = Vec::new();
    let local = Path::new(name_or_dir);
    if local.is_dir() {
        return Ok(local.to_path_buf());
    }
    tried.push(format!("local folder {}: does not exist", local.display()));

    let Some(repo) = repo_id(name_or_dir) else {
        tried.push(format!(
            "Hugging Face: `{name_or_dir}` is not a model id (ORG/NAME or NAME)"
        ));
        return Err(Error::ModelNotFound {
            name: name_or_dir.to_string(),
            tried,
        });
    };

    for cache in &options.cache_dirs {
        match find_in_cache(cache, &repo) {
            Ok(dir) => return Ok(dir),
            Err(why) => tried.push(format!("cache {}: {why}", cache.display())),
        }
    }

    if !options.allow_download {
        tried.push("hub download: off (HF_HUB_OFFLINE is set)".to_string());
    } else if let Some(cache) = options.cache_dirs.first() {
        match download(&repo, cache, options.endpoint.as_deref()) {
            Ok(dir) => return Ok(dir),
            Err(why) => tried.push(format!("hub download into {}: {why}", cache.display())),
        }
    } else {
        tried.push("hub download: no cache folder (set HF_HOME or HOME)".to_string());
    }
    Err(Error::ModelNotFound {
        name: name_or_dir.to_string(),
        tried,
    })
}

/// `ORG/NAME` or `NAME` made of letters, digits, `-`, `_`, `.`; else `None`.
fn repo_id(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split('/').collect();
    let ok_part = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (parts.len() <= 2 && parts.iter().all(|p| ok_part(p))).then(|| name.to_string())
}

fn has_checkpoint(dir: &Path) -> bool {
    dir.join(CONFIG_FILE).is_file()
        && (dir.join(SAFETENSORS_FILE).is_file() || dir.join(PYTORCH_FILE).is_file())
}

/// The snapshot folder of `repo` in one cache, or why there is none.
fn find_in_cache(cache: &Path, repo: &str) -> std::result::Result<PathBuf, String> {
    let model_dir = cache.join(format!("models--{}", repo.replace('/', "--")));
    if !model_dir.is_dir() {
        return Err(format!("no {}", model_dir.display()));
    }
    let snapshots = model_dir.join("snapshots");
    if let Ok(rev) = std::fs::read_to_string(model_dir.join("refs/main")) {
        let dir = snapshots.join(rev.trim());
        if has_checkpoint(&dir) {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .map_err(|e| format!("cannot list {}: {e}", snapshots.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| has_checkpoint(p))
        .collect();
    candidates.sort();
    candidates.pop().ok_or_else(|| {
        format!(
            "no snapshot in {} has {CONFIG_FILE} and {SAFETENSORS_FILE} or {PYTORCH_FILE}",
            snapshots.display()
        )
    })
}

/// Downloads `config.json`, a weight file (safetensors first) and the tokenizer files the repository has
/// ([`TOKENIZER_FILES`]; a missing one is skipped) into `cache`; the snapshot folder.
fn download(
    repo: &str,
    cache: &Path,
    endpoint: Option<&str>,
) -> std::result::Result<PathBuf, String> {
    let mut builder =
        hf_hub::api::sync::ApiBuilder::from_cache(hf_hub::Cache::new(cache.to_path_buf()))
            .with_progress(false);
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint.to_string());
    }
    let api = builder.build().map_err(|e| e.to_string())?;
    let model = api.model(repo.to_string());
    let config = model
        .get(CONFIG_FILE)
        .map_err(|e| format!("{CONFIG_FILE}: {e}"))?;
    let weights = model.get(SAFETENSORS_FILE).or_else(|e1| {
        model
            .get(PYTORCH_FILE)
            .map_err(|e2| format!("{SAFETENSORS_FILE}: {e1}; {PYTORCH_FILE}: {e2}"))
    })?;
    let dir = config
        .parent()
        .ok_or_else(|| format!("{} has no parent folder", config.display()))?;
    if weights.parent() != Some(dir) {
        return Err(format!(
            "the files landed in different folders ({} and {})",
            config.display(),
            weights.display()
        ));
    }
    for file in TOKENIZER_FILES {
        // Which tokenizer files a repository has varies (tokenizer.json, or vocab.txt and its configs):
        // a failed one is skipped, and a folder left without a tokenizer is reported by the tokenizer
        // loader, naming this folder.
        let _ = model.get(file);
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"{}").unwrap();
    }

    #[test]
    fn local_folder_then_cache_with_refs_main() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = ResolveOptions {
            cache_dirs: vec![tmp.path().join("empty"), tmp.path().join("hub")],
            allow_download: false,
            endpoint: None,
        };
        // A local folder wins (its content is checked later, by Checkpoint::open).
        assert_eq!(
            resolve_with(tmp.path().to_str().unwrap(), &opts).unwrap(),
            tmp.path()
        );
        let model = tmp.path().join("hub/models--org--tiny-bert");
        for rev in ["aaa", "bbb"] {
            touch(&model.join(format!("snapshots/{rev}/config.json")));
            touch(&model.join(format!("snapshots/{rev}/model.safetensors")));
        }
        touch(&model.join("refs/main"));
        std::fs::write(model.join("refs/main"), "aaa\n").unwrap();
        assert_eq!(
            resolve_with("org/tiny-bert", &opts).unwrap(),
            model.join("snapshots/aaa")
        );
        std::fs::remove_file(model.join("refs/main")).unwrap();
        assert_eq!(
            resolve_with("org/tiny-bert", &opts).unwrap(),
            model.join("snapshots/bbb")
        );
    }

    #[test]
    fn the_error_lists_every_place_tried() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = ResolveOptions {
            cache_dirs: vec![tmp.path().join("c1"), tmp.path().join("c2")],
            allow_download: false,
            endpoint: None,
        };
        let err = resolve_with("nobody/nothing", &opts)
            .unwrap_err()
            .to_string();
        assert!(err.contains("local folder nobody/nothing"), "{err}");
        assert!(err.contains("c1") && err.contains("c2"), "{err}");
        assert!(err.contains("HF_HUB_OFFLINE"), "{err}");
        let err = resolve_with("/no/such/dir", &opts).unwrap_err().to_string();
        assert!(err.contains("not a model id"), "{err}");
    }

    /// A minimal Hugging Face hub on the loopback: `GET /{repo}/resolve/main/{file}` answers the files
    /// given (with the headers hf-hub reads: `x-repo-commit`, `etag`, `Content-Range`) and 404 for any
    /// other. Returns the endpoint; the server lives until the test process ends.
    fn fake_hub(repo: &'static str, files: Vec<(&'static str, Vec<u8>)>) -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                // `Range: bytes=START-[END]`
                let (mut start, mut end) = (0usize, None::<usize>);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some((a, b)) = lower
                        .strip_prefix("range: bytes=")
                        .and_then(|r| r.trim().split_once('-'))
                    {
                        start = a.parse().unwrap();
                        end = b.parse().ok();
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("");
                let file = path.strip_prefix(&format!("/{repo}/resolve/main/"));
                let found = files.iter().find(|(name, _)| Some(*name) == file);
                let response = match found {
                    Some((name, body)) => {
                        let end = end.unwrap_or(body.len() - 1).min(body.len() - 1);
                        let mut head = format!(
                            "HTTP/1.1 206 Partial Content\r\nx-repo-commit: {}\r\netag: \"etag-{name}\"\r\n\
                             Content-Range: bytes {start}-{end}/{}\r\nContent-Length: {}\r\n\
                             Connection: close\r\n\r\n",
                            "c".repeat(40),
                            body.len(),
                            end + 1 - start
                        )
                        .into_bytes();
                        head.extend_from_slice(&body[start..=end]);
                        head
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = stream.write_all(&response);
            }
        });
        endpoint
    }

    #[test]
    fn a_download_fetches_the_tokenizer_files_with_the_weights() {
        let tmp = tempfile::tempdir().unwrap();
        let files = vec![
            ("config.json", b"{\"hidden_size\": 4}".to_vec()),
            ("model.safetensors", vec![7u8; 64]),
            (
                "vocab.txt",
                b"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n".to_vec(),
            ),
            (
                "tokenizer_config.json",
                b"{\"do_lower_case\": false}".to_vec(),
            ),
        ];
        let opts = ResolveOptions {
            cache_dirs: vec![tmp.path().join("hub")],
            allow_download: true,
            endpoint: Some(fake_hub("org/tiny", files.clone())),
        };
        let dir = resolve_with("org/tiny", &opts).unwrap();
        assert!(dir.starts_with(tmp.path().join("hub/models--org--tiny/snapshots")));
        for (name, body) in &files {
            assert_eq!(
                &std::fs::read(dir.join(name)).unwrap_or_default(),
                body,
                "{name} in {}",
                dir.display()
            );
        }
        // The files the repository lacks are skipped, not an error.
        assert!(!dir.join("tokenizer.json").exists());
        // The snapshot is then found in the cache, without the hub.
        let offline = ResolveOptions {
            allow_download: false,
            ..opts
        };
        assert_eq!(resolve_with("org/tiny", &offline).unwrap(), dir);
    }

    #[test]
    fn an_unreachable_hub_is_reported_not_fatal_early() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = ResolveOptions {
            cache_dirs: vec![tmp.path().join("hub")],
            allow_download: true,
            // Nothing listens on port 9 of the loopback: the connection is refused at once.
            endpoint: Some("http://127.0.0.1:9".to_string()),
        };
        let err = resolve_with("org/model", &opts).unwrap_err().to_string();
        assert!(
            err.contains("cache") && err.contains("hub download"),
            "{err}"
        );
    }
}
