//! WordPiece tokenization with the `tokenizers` crate, giving exactly the subtokens of the slow
//! `transformers.BertTokenizer` that the reference preprocessing uses (SPEC §6.2, §10 row `conll_prep`).
//!
//! A tokenizer folder holds either
//! - `tokenizer.json` (a Hugging Face fast tokenizer with a WordPiece model; its truncation and padding are
//!   switched off, MiniLM's has both on), or
//! - `vocab.txt`, one token per line (the line number is the id), with an optional
//!   `tokenizer_config.json` whose `do_lower_case` (default **true**, as `BertTokenizer`'s own default
//!   when the file is absent), `strip_accents` (default: follows `do_lower_case`),
//!   `tokenize_chinese_chars` (default true) and `unk/cls/sep/pad/mask_token` are read.
//!
//! The pipeline is the slow tokenizer's, stage by stage:
//! 1. special tokens (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]`) found in the text stay whole;
//! 2. normalisation: drop NUL, U+FFFD and control characters, whitespace → space, spaces around CJK
//!    ideographs; then **NFC** (the slow tokenizer's `BasicTokenizer` composes since transformers 4.3x,
//!    the fast `BertNormalizer` does not); then, if lower-casing, lower case and strip accents (NFD, drop
//!    non-spacing marks);
//! 3. split on whitespace and punctuation (`BertPreTokenizer`);
//! 4. WordPiece, greedy longest match first, `##` continuation, words longer than 100 characters → `[UNK]`.
//!
//! Loaded from `tokenizer.json`, a `BertNormalizer` is rebuilt as in step 2 with its own settings (so NFC
//! is added); any other normaliser is kept as it is.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::{BertNormalizer, Sequence, NFC};
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{AddedToken, Model, ModelWrapper, NormalizerWrapper, Tokenizer};

use crate::error::{Error, Result};

/// A token and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialToken {
    /// The token text, e.g. `[CLS]`.
    pub token: String,
    /// Its id in the vocabulary.
    pub id: u32,
}

/// A line of text encoded for a model: `[CLS]`, the subtokens, `[SEP]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Subtokens, `[CLS]` first and `[SEP]` last.
    pub tokens: Vec<String>,
    /// Their ids.
    pub ids: Vec<u32>,
    /// Byte offsets `[start, end)` of each subtoken in the text; `(0, 0)` for `[CLS]` and `[SEP]`.
    pub offsets: Vec<(usize, usize)>,
}

/// A WordPiece tokenizer read from a folder; see the module documentation.
#[derive(Clone)]
pub struct SubwordTokenizer {
    tokenizer: Tokenizer,
    dir: PathBuf,
    do_lower_case: bool,
    cls: SpecialToken,
    sep: SpecialToken,
    pad: SpecialToken,
    unk: SpecialToken,
}

impl std::fmt::Debug for SubwordTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubwordTokenizer")
            .field("dir", &self.dir)
            .field("do_lower_case", &self.do_lower_case)
            .field("vocab_size", &self.vocab_size())
            .finish()
    }
}

/// The settings of a slow `BertTokenizer` read from `tokenizer_config.json`.
#[derive(Debug, Clone)]
struct SlowConfig {
    do_lower_case: bool,
    strip_accents: Option<bool>,
    tokenize_chinese_chars: bool,
    unk: String,
    cls: String,
    sep: String,
    pad: String,
    mask: String,
}

impl Default for SlowConfig {
    fn default() -> Self {
        SlowConfig {
            do_lower_case: true,
            strip_accents: None,
            tokenize_chinese_chars: true,
            unk: "[UNK]".into(),
            cls: "[CLS]".into(),
            sep: "[SEP]".into(),
            pad: "[PAD]".into(),
            mask: "[MASK]".into(),
        }
    }
}

fn tokenizer_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::Tokenizer {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A special-token entry of `tokenizer_config.json`: a string or `{"content": "..."}`.
fn token_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => map
            .get("content")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

impl SlowConfig {
    /// Reads `tokenizer_config.json` when present; defaults otherwise.
    fn read(dir: &Path) -> Result<Self> {
        let mut cfg = SlowConfig::default();
        let path = dir.join("tokenizer_config.json");
        if !path.is_file() {
            return Ok(cfg);
        }
        let text = read_text(&path)?;
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| tokenizer_error(&path, format!("invalid JSON: {e}")))?;
        let bool_key = |key: &str| -> Result<Option<bool>> {
            match json.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(other) => Err(tokenizer_error(
                    &path,
                    format!("`{key}` must be true, false or null, found {other}"),
                )),
            }
        };
        if let Some(v) = bool_key("do_lower_case")? {
            cfg.do_lower_case = v;
        }
        cfg.strip_accents = bool_key("strip_accents")?;
        if let Some(v) = bool_key("tokenize_chinese_chars")? {
            cfg.tokenize_chinese_chars = v;
        }
        if bool_key("do_basic_tokenize")? == Some(false) {
            return Err(tokenizer_error(
                &path,
                "`do_basic_tokenize: false` is not supported (reprobe always runs BERT basic tokenization)",
            ));
        }
        for (key, slot) in [
            ("unk_token", &mut cfg.unk),
            ("cls_token", &mut cfg.cls),
            ("sep_token", &mut cfg.sep),
            ("pad_token", &mut cfg.pad),
            ("mask_token", &mut cfg.mask),
        ] {
            if let Some(value) = json.get(key).filter(|v| !v.is_null()) {
                *slot = token_value(value).ok_or_else(|| {
                    tokenizer_error(&path, format!("`{key}` must be a string, found {value}"))
                })?;
            }
        }
        Ok(cfg)
    }
}

/// The slow tokenizer's normalisation (module doc, step 2) for the given settings.
fn slow_normalizer(
    clean_text: bool,
    handle_chinese_chars: bool,
    strip_accents: Option<bool>,
    lowercase: bool,
) -> NormalizerWrapper {
    let first = BertNormalizer::new(clean_text, handle_chinese_chars, Some(false), false);
    let last = BertNormalizer::new(
        false,
        false,
        Some(strip_accents.unwrap_or(lowercase)),
        lowercase,
    );
    NormalizerWrapper::Sequence(Sequence::new(vec![
        NormalizerWrapper::BertNormalizer(first),
        NormalizerWrapper::NFC(NFC),
        NormalizerWrapper::BertNormalizer(last),
    ]))
}

/// Reads `vocab.txt` as the slow tokenizer does: one token per line, `\n` (and a `\r` before it) removed,
/// nothing else; the line number is the id; a repeated token keeps its last id.
fn read_vocab(path: &Path) -> Result<HashMap<String, u32>> {
    let text = read_text(path)?;
    let mut vocab = HashMap::new();
    let body = text.strip_suffix('\n').unwrap_or(&text);
    for (line_idx, line) in body.split('\n').enumerate() {
        let token = line.strip_suffix('\r').unwrap_or(line);
        let id =
            u32::try_from(line_idx).map_err(|_| tokenizer_error(path, "more than 2^32 lines"))?;
        vocab.insert(token.to_string(), id);
    }
    if text.is_empty() {
        return Err(tokenizer_error(path, "empty vocabulary"));
    }
    Ok(vocab)
}

/// Checks that the unknown token and `[CLS]`, `[SEP]`, `[PAD]` (as configured) are entries of the
/// WordPiece vocabulary itself. Added as special tokens only, they would get ids past the vocabulary
/// (the model's embedding table) and an unknown word would make WordPiece fail at the first document
/// that holds one, an error that would then seem to come from that corpus file. The error names the
/// tokenizer folder; `blank_lines` counts the vocabulary's blank entries for the hint.
fn check_specials_in_vocab(
    dir: &Path,
    what: &str,
    cfg: &SlowConfig,
    contains: impl Fn(&str) -> bool,
    blank_lines: impl FnOnce() -> usize,
) -> Result<()> {
    let missing: Vec<&str> = [&cfg.unk, &cfg.cls, &cfg.sep, &cfg.pad]
        .into_iter()
        .map(String::as_str)
        .filter(|t| !contains(t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let blank = blank_lines();
    let hint = if blank > 0 {
        format!(
            "; it has {blank} blank entr{} (a vocabulary saved with its special tokens blanked or \
             stripped?)",
            if blank == 1 { "y" } else { "ies" }
        )
    } else {
        String::new()
    };
    Err(tokenizer_error(
        dir,
        format!(
            "unusable vocabulary: {} not in {what}{hint}; every word the vocabulary cannot spell would \
             fail. Use the tokenizer files the model was trained with",
            missing.join(", ")
        ),
    ))
}

impl SubwordTokenizer {
    /// Loads the tokenizer of folder `dir` (`tokenizer.json`, else `vocab.txt` [+ `tokenizer_config.json`]).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let json_path = dir.join("tokenizer.json");
        let vocab_path = dir.join("vocab.txt");
        if !dir.is_dir() {
            return Err(tokenizer_error(
                dir,
                "not a folder (expected a folder with tokenizer.json, or vocab.txt and an optional tokenizer_config.json)",
            ));
        }
        if json_path.is_file() {
            Self::from_tokenizer_json(dir, &json_path)
        } else if vocab_path.is_file() {
            Self::from_vocab(dir, &vocab_path)
        } else {
            Err(tokenizer_error(
                dir,
                "neither tokenizer.json nor vocab.txt found (expected a Hugging Face tokenizer folder: \
                 tokenizer.json, or vocab.txt with an optional tokenizer_config.json)",
            ))
        }
    }

    fn from_vocab(dir: &Path, vocab_path: &Path) -> Result<Self> {
        let cfg = SlowConfig::read(dir)?;
        if dir.join("added_tokens.json").is_file() {
            return Err(tokenizer_error(
                dir,
                "added_tokens.json is not supported with vocab.txt; provide a tokenizer.json instead",
            ));
        }
        let vocab = read_vocab(vocab_path)?;
        check_specials_in_vocab(
            dir,
            "vocab.txt",
            &cfg,
            |t| vocab.contains_key(t),
            || {
                let text = std::fs::read_to_string(vocab_path).unwrap_or_default();
                let body = text.strip_suffix('\n').unwrap_or(&text);
                body.split('\n')
                    .filter(|l| l.strip_suffix('\r').unwrap_or(l).trim().is_empty())
                    .count()
            },
        )?;
        let model = WordPiece::builder()
            .vocab(vocab.into_iter().collect::<ahash::AHashMap<_, _>>())
            .unk_token(cfg.unk.clone())
            .continuing_subword_prefix("##".into())
            .max_input_chars_per_word(100)
            .build()
            .map_err(|e| tokenizer_error(vocab_path, format!("cannot build WordPiece: {e}")))?;
        let mut tokenizer = Tokenizer::new(model);
        tokenizer.with_normalizer(Some(slow_normalizer(
            true,
            cfg.tokenize_chinese_chars,
            cfg.strip_accents,
            cfg.do_lower_case,
        )));
        tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
        let specials: Vec<AddedToken> = [&cfg.pad, &cfg.unk, &cfg.cls, &cfg.sep, &cfg.mask]
            .into_iter()
            .map(|t| AddedToken::from(t.clone(), true))
            .collect();
        tokenizer.add_special_tokens(&specials);
        Self::finish(tokenizer, dir, vocab_path, cfg.do_lower_case, &cfg)
    }

    fn from_tokenizer_json(dir: &Path, json_path: &Path) -> Result<Self> {
        let mut tokenizer = Tokenizer::from_file(json_path)
            .map_err(|e| tokenizer_error(json_path, format!("cannot load: {e}")))?;
        tokenizer.with_truncation(None).map_err(|e| {
            tokenizer_error(json_path, format!("cannot switch truncation off: {e}"))
        })?;
        tokenizer.with_padding(None);
        match tokenizer.get_model() {
            ModelWrapper::WordPiece(_) => {}
            _ => {
                return Err(tokenizer_error(
                    json_path,
                    "the model is not WordPiece; reprobe supports BERT-style WordPiece tokenizers",
                ))
            }
        }
        let mut lowercase = None;
        if let Some(NormalizerWrapper::BertNormalizer(bert)) = tokenizer.get_normalizer() {
            let bert = *bert;
            lowercase = Some(bert.lowercase);
            tokenizer.with_normalizer(Some(slow_normalizer(
                bert.clean_text,
                bert.handle_chinese_chars,
                bert.strip_accents,
                bert.lowercase,
            )));
        }
        let cfg = SlowConfig::read(dir)?;
        let do_lower_case = lowercase.unwrap_or(cfg.do_lower_case);
        let unk = match tokenizer.get_model() {
            ModelWrapper::WordPiece(wp) => wp.unk_token.clone(),
            _ => cfg.unk.clone(),
        };
        let cfg = SlowConfig { unk, ..cfg };
        if let ModelWrapper::WordPiece(wp) = tokenizer.get_model() {
            let vocab = wp.get_vocab();
            let blank = vocab.keys().filter(|t| t.trim().is_empty()).count();
            check_specials_in_vocab(
                dir,
                "the WordPiece vocabulary of tokenizer.json",
                &cfg,
                |t| vocab.contains_key(t),
                || blank,
            )?;
        }
        Self::finish(tokenizer, dir, json_path, do_lower_case, &cfg)
    }

    fn finish(
        tokenizer: Tokenizer,
        dir: &Path,
        file: &Path,
        do_lower_case: bool,
        cfg: &SlowConfig,
    ) -> Result<Self> {
        let special = |token: &str| -> Result<SpecialToken> {
            let id = tokenizer.token_to_id(token).ok_or_else(|| {
                tokenizer_error(
                    file,
                    format!("special token {token} is not in the vocabulary"),
                )
            })?;
            Ok(SpecialToken {
                token: token.to_string(),
                id,
            })
        };
        Ok(SubwordTokenizer {
            cls: special(&cfg.cls)?,
            sep: special(&cfg.sep)?,
            pad: special(&cfg.pad)?,
            unk: special(&cfg.unk)?,
            tokenizer,
            dir: dir.to_path_buf(),
            do_lower_case,
        })
    }

    fn encode_raw(&self, text: &str) -> Result<tokenizers::Encoding> {
        self.tokenizer
            .encode(text, false)
            .map_err(|e| Error::Tokenize {
                text: text.chars().take(80).collect(),
                msg: e.to_string(),
            })
    }

    /// The subtokens of one word (what `BertTokenizer.tokenize(word)` returns). Empty when the word holds
    /// only characters the normaliser drops (control characters, U+FFFD, whitespace).
    pub fn tokenize_word(&self, word: &str) -> Result<Vec<String>> {
        Ok(self.encode_raw(word)?.get_tokens().to_vec())
    }

    /// `[CLS]`, the subtokens of `text`, `[SEP]`, with ids and byte offsets. No truncation: the caller
    /// cuts long texts into windows.
    pub fn encode_line(&self, text: &str) -> Result<Encoded> {
        let enc = self.encode_raw(text)?;
        let n = enc.get_tokens().len() + 2;
        let mut out = Encoded {
            tokens: Vec::with_capacity(n),
            ids: Vec::with_capacity(n),
            offsets: Vec::with_capacity(n),
        };
        out.tokens.push(self.cls.token.clone());
        out.ids.push(self.cls.id);
        out.offsets.push((0, 0));
        out.tokens.extend(enc.get_tokens().iter().cloned());
        out.ids.extend_from_slice(enc.get_ids());
        out.offsets.extend_from_slice(enc.get_offsets());
        out.tokens.push(self.sep.token.clone());
        out.ids.push(self.sep.id);
        out.offsets.push((0, 0));
        Ok(out)
    }

    /// The id of `token`, if it is in the vocabulary (special tokens included).
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// The ids of `tokens`; an error names the first token that is not in the vocabulary.
    pub fn ids(&self, tokens: &[String]) -> Result<Vec<u32>> {
        tokens
            .iter()
            .map(|t| {
                self.token_to_id(t).ok_or_else(|| {
                    tokenizer_error(&self.dir, format!("token {t:?} is not in the vocabulary"))
                })
            })
            .collect()
    }

    /// Number of entries of the vocabulary (`BertTokenizer.vocab_size`).
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(false)
    }

    /// Number of ids, added tokens included (`len(tokenizer)` in transformers): a model needs this many
    /// rows of word embeddings.
    pub fn len_with_added(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// Adds `tokens` as special tokens (matched whole in raw text, never split or normalised), as
    /// transformers' `tokenizer.add_tokens(tokens, special_tokens=True)`: a token already known keeps its
    /// id, a new one gets the next id after [`SubwordTokenizer::len_with_added`], in the order given.
    /// Returns the id of every token.
    pub fn add_special_tokens(&mut self, tokens: &[String]) -> Result<Vec<u32>> {
        let added: Vec<AddedToken> = tokens
            .iter()
            .map(|t| AddedToken::from(t.clone(), true))
            .collect();
        self.tokenizer.add_special_tokens(&added);
        self.ids(tokens)
    }

    /// Whether the text is lower-cased (and accents stripped, unless configured otherwise).
    pub fn do_lower_case(&self) -> bool {
        self.do_lower_case
    }

    /// The folder the tokenizer was read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `[CLS]` and its id.
    pub fn cls(&self) -> &SpecialToken {
        &self.cls
    }

    /// `[SEP]` and its id.
    pub fn sep(&self) -> &SpecialToken {
        &self.sep
    }

    /// `[PAD]` and its id.
    pub fn pad(&self) -> &SpecialToken {
        &self.pad
    }

    /// `[UNK]` and its id.
    pub fn unk(&self) -> &SpecialToken {
        &self.unk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny vocabulary folder written for the test.
    fn tiny(dir: &Path, lower: Option<bool>) -> SubwordTokenizer {
        let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nman\n##s\nun\n##able\n,\n.\ncafe\ncafé\nThe\n";
        std::fs::write(dir.join("vocab.txt"), vocab).unwrap();
        if let Some(lower) = lower {
            std::fs::write(
                dir.join("tokenizer_config.json"),
                format!("{{\"do_lower_case\": {lower}}}"),
            )
            .unwrap();
        }
        SubwordTokenizer::from_dir(dir).unwrap()
    }

    #[test]
    fn uncased_by_default_like_bert_tokenizer() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tiny(dir.path(), None);
        assert!(tok.do_lower_case());
        assert_eq!(tok.tokenize_word("The").unwrap(), vec!["the"]);
        assert_eq!(tok.tokenize_word("Café").unwrap(), vec!["cafe"]);
        assert_eq!(
            tok.tokenize_word("unable,").unwrap(),
            vec!["un", "##able", ","]
        );
        assert_eq!(tok.tokenize_word("mans").unwrap(), vec!["man", "##s"]);
        assert_eq!(tok.tokenize_word("xyz").unwrap(), vec!["[UNK]"]);
        assert_eq!(tok.tokenize_word("\u{200b}").unwrap(), Vec::<String>::new());
        assert_eq!(tok.vocab_size(), 15);
        assert_eq!(
            (tok.cls().id, tok.sep().id, tok.pad().id, tok.unk().id),
            (2, 3, 0, 1)
        );
    }

    #[test]
    fn cased_composes_decomposed_accents() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tiny(dir.path(), Some(false));
        assert!(!tok.do_lower_case());
        assert_eq!(tok.tokenize_word("The").unwrap(), vec!["The"]);
        assert_eq!(tok.tokenize_word("cafe\u{301}").unwrap(), vec!["café"]);
        assert_eq!(
            tok.tokenize_word("the[SEP]man").unwrap(),
            vec!["the", "[SEP]", "man"]
        );
    }

    #[test]
    fn added_special_tokens_get_new_ids_and_stay_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut tok = tiny(dir.path(), None);
        let markers: Vec<String> = ["[/H]", "[H]", "[CLS]"].map(String::from).to_vec();
        assert_eq!(tok.add_special_tokens(&markers).unwrap(), vec![15, 16, 2]);
        assert_eq!((tok.vocab_size(), tok.len_with_added()), (15, 17));
        // Matched in raw text before lower-casing and punctuation splitting.
        assert_eq!(
            tok.encode_line("The [H]man[/H].").unwrap().tokens,
            vec!["[CLS]", "the", "[H]", "man", "[/H]", ".", "[SEP]"]
        );
        // Adding them again changes nothing.
        assert_eq!(tok.add_special_tokens(&markers).unwrap(), vec![15, 16, 2]);
        assert_eq!(tok.len_with_added(), 17);
    }

    #[test]
    fn encode_line_adds_cls_sep_and_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tiny(dir.path(), None);
        let enc = tok.encode_line("The mans.").unwrap();
        assert_eq!(enc.tokens, vec!["[CLS]", "the", "man", "##s", ".", "[SEP]"]);
        assert_eq!(enc.ids, vec![2, 5, 6, 7, 11, 3]);
        assert_eq!(
            enc.offsets,
            vec![(0, 0), (0, 3), (4, 7), (7, 8), (8, 9), (0, 0)]
        );
        assert_eq!(tok.ids(&enc.tokens).unwrap(), enc.ids);
        let err = tok.ids(&["nope".to_string()]).unwrap_err().to_string();
        assert!(
            err.ends_with(": token \"nope\" is not in the vocabulary"),
            "{err}"
        );
    }

    #[test]
    fn folder_without_files_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = SubwordTokenizer::from_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "tokenizer {}: neither tokenizer.json nor vocab.txt found (expected a Hugging Face tokenizer \
                 folder: tokenizer.json, or vocab.txt with an optional tokenizer_config.json)",
                dir.path().display()
            )
        );
    }

    #[test]
    fn vocabulary_without_unk_is_an_error_of_the_folder() {
        // A vocab.txt whose special-token lines were blanked: `[UNK]` would only be an added token, and
        // the first unknown word of a corpus would fail inside WordPiece.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vocab.txt"),
            "[PAD]\n\n[CLS]\n[SEP]\n\nthe\nman\n",
        )
        .unwrap();
        let err = SubwordTokenizer::from_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "tokenizer {}: unusable vocabulary: [UNK] not in vocab.txt; it has 2 blank entries (a \
                 vocabulary saved with its special tokens blanked or stripped?); every word the \
                 vocabulary cannot spell would fail. Use the tokenizer files the model was trained with",
                dir.path().display()
            )
        );
        // The same vocabulary as tokenizer.json.
        let dir = tempfile::tempdir().unwrap();
        let json = serde_json::json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [],
            "normalizer": null,
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": null,
            "decoder": null,
            "model": {
                "type": "WordPiece",
                "unk_token": "[UNK]",
                "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100,
                "vocab": {"[PAD]": 0, "": 1, "[CLS]": 2, "[SEP]": 3, "the": 4}
            }
        });
        std::fs::write(dir.path().join("tokenizer.json"), json.to_string()).unwrap();
        let err = SubwordTokenizer::from_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "tokenizer {}: unusable vocabulary: [UNK] not in the WordPiece vocabulary of \
                 tokenizer.json; it has 1 blank entry",
                dir.path().display()
            )),
            "{err}"
        );
    }

    #[test]
    fn bad_config_value_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vocab.txt"), "[UNK]\n").unwrap();
        std::fs::write(
            dir.path().join("tokenizer_config.json"),
            "{\"do_lower_case\": 1}",
        )
        .unwrap();
        let err = SubwordTokenizer::from_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "tokenizer_config.json: `do_lower_case` must be true, false or null, found 1"
            ),
            "{err}"
        );
    }
}
