//! Command-line overrides in the style of Hydra: `a.b=value`, lists `[x,y]`, maps `{id:path,id2:path2}`, quoted
//! strings, `~a.b` to delete a key, `+a.b=v` (accepted for Hydra users: every key may be set without it), and for
//! sweeps `a.b=v1,v2,v3` or `seed=range(1,6)` (Python's `range`: 1..=5).
//!
//! Values become TOML values: `3` an integer, `1e-4` a float, `true` a boolean, `'x'`/`"x"` a string, anything else
//! a bare string (`bert-base-cased`, `../shared/data/x.conll`).
//!
//! `key=null` unsets the key as in Hydra: the key is removed (whether or not the config sets it), so its default
//! applies. A bare `null` is only allowed as the whole value; inside a list, a map or a sweep it is an error, and
//! `key='null'` is the string "null".
//!
//! White space around keys, values and list items may be any Unicode white space (a no-break space included).
use anyhow::{bail, Context, Result};
use toml::Value;

/// One parsed `key=value` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The dotted key path, e.g. `["encoders", "mrpc", "truncate"]`.
    pub path: Vec<String>,
    /// What to do with it.
    pub action: OverrideAction,
    /// The argument as the user wrote it (for messages and sweep folder names).
    pub raw: String,
}

/// What an override does.
#[derive(Debug, Clone, PartialEq)]
pub enum OverrideAction {
    /// Set the key to one value.
    Set(Value),
    /// Set the key to each of these values in turn (a sweep; only with `--multirun`).
    Sweep(Vec<Value>),
    /// Remove the key (`~key`); an error if the config does not set it.
    Delete,
    /// Remove the key if it is set, so that its default applies (`key=null`, as in Hydra).
    Unset,
}

impl Override {
    /// The dotted key, e.g. `encoders.mrpc.truncate`.
    pub fn key(&self) -> String {
        self.path.join(".")
    }
}

/// Parses one command-line override. Its errors are [`super::InputError`]s.
pub fn parse_override(arg: &str) -> Result<Override> {
    parse_one(arg).map_err(super::input_error)
}

fn parse_one(arg: &str) -> Result<Override> {
    let raw = arg.to_string();
    let (body, delete) = match arg.strip_prefix('~') {
        Some(rest) => (rest, true),
        None => (arg.strip_prefix('+').unwrap_or(arg), false),
    };
    let (key, value) = match body.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (body, None),
    };
    let path = parse_key(key.trim()).with_context(|| format!("in override `{arg}`"))?;
    let action = match (delete, value) {
        (true, None) => OverrideAction::Delete,
        (true, Some(_)) => bail!("override `{arg}`: `~key` deletes a key and takes no value"),
        (false, None) => {
            bail!("override `{arg}` has no `=`: write `{key}=VALUE` (or `~{key}` to delete it)")
        }
        (false, Some(text)) => {
            parse_value_or_sweep(text).with_context(|| format!("in override `{arg}`"))?
        }
    };
    Ok(Override { path, action, raw })
}

fn parse_key(key: &str) -> Result<Vec<String>> {
    if key.is_empty() {
        bail!("empty key");
    }
    key.split('.')
        .map(|part| {
            let ok = !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/'));
            if ok {
                Ok(part.to_string())
            } else {
                bail!("`{key}` is not a key: use dotted names of letters, digits, `_`, `-` (e.g. `train.max_epochs`)")
            }
        })
        .collect()
}

/// The value that unsets a key (`key=null`).
const NULL: &str = "null";

fn parse_value_or_sweep(text: &str) -> Result<OverrideAction> {
    let text = text.trim();
    if text == NULL {
        return Ok(OverrideAction::Unset);
    }
    if let Some(inner) = text
        .strip_prefix("range(")
        .and_then(|t| t.strip_suffix(')'))
    {
        return parse_range(inner).map(OverrideAction::Sweep);
    }
    let mut parser = Parser::new(text);
    let mut values = vec![parser.value()?];
    while parser.eat(',') {
        values.push(parser.value()?);
    }
    parser.end()?;
    Ok(if values.len() == 1 {
        OverrideAction::Set(values.pop().expect("one value"))
    } else {
        OverrideAction::Sweep(values)
    })
}

fn parse_range(inner: &str) -> Result<Vec<Value>> {
    let nums: Vec<i64> = inner
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<i64>()
                .with_context(|| format!("`range({inner})`: `{}` is not an integer", s.trim()))
        })
        .collect::<Result<_>>()?;
    let (start, stop, step) = match nums[..] {
        [stop] => (0, stop, 1),
        [start, stop] => (start, stop, 1),
        [start, stop, step] => (start, stop, step),
        _ => bail!("`range({inner})` takes 1 to 3 integers, like Python's range"),
    };
    if step == 0 {
        bail!("`range({inner})`: the step must not be 0");
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0 && x < stop) || (step < 0 && x > stop) {
        out.push(Value::Integer(x));
        x += step;
    }
    if out.is_empty() {
        bail!("`range({inner})` is empty");
    }
    Ok(out)
}

/// A small recursive-descent parser over the value grammar.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser { text, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Skips white space, Unicode included (a no-break space is one to three bytes: step by the character).
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn end(&mut self) -> Result<()> {
        self.skip_ws();
        if self.pos < self.text.len() {
            bail!(
                "unexpected `{}` at position {} of `{}`",
                self.rest(),
                self.text[..self.pos].chars().count(),
                self.text
            );
        }
        Ok(())
    }

    fn value(&mut self) -> Result<Value> {
        self.skip_ws();
        match self.peek() {
            Some('[') => self.list(),
            Some('{') => self.map(),
            Some(q @ ('"' | '\'')) => self.quoted(q).map(Value::String),
            Some(_) => {
                let word = self.bare()?;
                if word == NULL {
                    bail!(
                        "`null` unsets a key and can only be the whole value (`key=null`), not part of `{}`; \
                         write 'null' in quotes for the string",
                        self.text
                    );
                }
                Ok(scalar(word))
            }
            None => Ok(Value::String(String::new())),
        }
    }

    fn list(&mut self) -> Result<Value> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        if self.eat(']') {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            if self.eat(',') {
                continue;
            }
            if self.eat(']') {
                return Ok(Value::Array(items));
            }
            bail!("a list `[...]` in `{}` is not closed with `]`", self.text);
        }
    }

    fn map(&mut self) -> Result<Value> {
        self.pos += 1; // '{'
        let mut table = toml::Table::new();
        if self.eat('}') {
            return Ok(Value::Table(table));
        }
        loop {
            self.skip_ws();
            let key = match self.peek() {
                Some(q @ ('"' | '\'')) => self.quoted(q)?,
                _ => self.until(&[':', ',', '}'])?.trim().to_string(),
            };
            if key.is_empty() || !self.eat(':') {
                bail!(
                    "a map `{{...}}` in `{}` needs `key:value` entries",
                    self.text
                );
            }
            let value = self.value()?;
            table.insert(key, value);
            if self.eat(',') {
                continue;
            }
            if self.eat('}') {
                return Ok(Value::Table(table));
            }
            bail!("a map `{{...}}` in `{}` is not closed with `}}`", self.text);
        }
    }

    fn quoted(&mut self, quote: char) -> Result<String> {
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                    continue;
                }
            } else if c == quote {
                self.pos += i + 1;
                return Ok(out);
            } else {
                out.push(c);
            }
        }
        bail!(
            "unterminated {quote}quoted{quote} string in `{}`",
            self.text
        )
    }

    /// A bare word: up to the next `,` `]` `}` at this level.
    fn bare(&mut self) -> Result<&'a str> {
        let word = self.until(&[',', ']', '}'])?;
        Ok(word.trim())
    }

    fn until(&mut self, stops: &[char]) -> Result<&'a str> {
        let rest = self.rest();
        let end = rest.find(|c| stops.contains(&c)).unwrap_or(rest.len());
        self.pos += end;
        Ok(&rest[..end])
    }
}

/// Types a bare word: integer, float, boolean, else string.
fn scalar(word: &str) -> Value {
    if let Ok(i) = word.parse::<i64>() {
        return Value::Integer(i);
    }
    let looks_numeric = word
        .starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
        && word.chars().any(|c| c.is_ascii_digit());
    if looks_numeric {
        if let Ok(f) = word.parse::<f64>() {
            return Value::Float(f);
        }
    }
    match word {
        "true" | "True" => Value::Boolean(true),
        "false" | "False" => Value::Boolean(false),
        _ => Value::String(word.to_string()),
    }
}

/// A value as a user would write it on the command line.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(arg: &str) -> Value {
        match parse_override(arg).unwrap().action {
            OverrideAction::Set(v) => v,
            other => panic!("{arg}: {other:?}"),
        }
    }

    fn sweep(arg: &str) -> Vec<Value> {
        match parse_override(arg).unwrap().action {
            OverrideAction::Sweep(v) => v,
            other => panic!("{arg}: {other:?}"),
        }
    }

    fn err(arg: &str) -> String {
        format!("{:#}", parse_override(arg).unwrap_err())
    }

    #[test]
    fn scalars_are_typed() {
        assert_eq!(set("seed=3"), Value::Integer(3));
        assert_eq!(set("train.task_learning_rate=1e-4"), Value::Float(1e-4));
        assert_eq!(set("x=-0.5"), Value::Float(-0.5));
        assert_eq!(set("encoders.target.freeze=true"), Value::Boolean(true));
        assert_eq!(set("a=False"), Value::Boolean(false));
        assert_eq!(
            set("data.train=../shared/data/x.conll"),
            Value::String("../shared/data/x.conll".into())
        );
        assert_eq!(
            set("name=bert-base-cased"),
            Value::String("bert-base-cased".into())
        );
        assert_eq!(set("name="), Value::String(String::new()));
        let o = parse_override("encoders.mrpc.truncate=9").unwrap();
        assert_eq!(o.path, vec!["encoders", "mrpc", "truncate"]);
        assert_eq!(o.key(), "encoders.mrpc.truncate");
    }

    #[test]
    fn quoted_strings_keep_commas_and_types() {
        assert_eq!(set("name='a,b'"), Value::String("a,b".into()));
        assert_eq!(set(r#"name="3""#), Value::String("3".into()));
        assert_eq!(
            set(r#"name="say \"hi\"""#),
            Value::String("say \"hi\"".into())
        );
        assert!(err("name='open").contains("unterminated"));
    }

    #[test]
    fn lists_and_maps() {
        assert_eq!(
            set("freeze=[target,mrpc]"),
            Value::Array(vec![
                Value::String("target".into()),
                Value::String("mrpc".into())
            ])
        );
        assert_eq!(set("x=[]"), Value::Array(vec![]));
        assert_eq!(
            set("x=[1, 2.5, 'a']"),
            Value::Array(vec![
                Value::Integer(1),
                Value::Float(2.5),
                Value::String("a".into())
            ])
        );
        let Value::Table(t) =
            set("checkpoints={target:/models/coref,mrpc:bert-base-cased-finetuned-mrpc}")
        else {
            panic!()
        };
        assert_eq!(t["target"], Value::String("/models/coref".into()));
        assert_eq!(
            t["mrpc"],
            Value::String("bert-base-cased-finetuned-mrpc".into())
        );
        let Value::Table(t) = set("a={x:{y:1},z:[1,2]}") else {
            panic!()
        };
        assert_eq!(t["x"]["y"], Value::Integer(1));
        assert_eq!(
            t["z"],
            Value::Array(vec![Value::Integer(1), Value::Integer(2)])
        );
        assert!(err("x=[1,2").contains("not closed"));
        assert!(err("x={a:1").contains("not closed"));
        assert!(err("x={a}").contains("key:value"));
    }

    #[test]
    fn sweeps_and_ranges() {
        assert_eq!(
            sweep("seed=1,2,3"),
            vec![Value::Integer(1), Value::Integer(2), Value::Integer(3)]
        );
        assert_eq!(
            sweep("aggregate.kind=mean,attention"),
            vec![
                Value::String("mean".into()),
                Value::String("attention".into())
            ]
        );
        assert_eq!(sweep("seed=range(1,6)").len(), 5);
        assert_eq!(
            sweep("seed=range(3)"),
            vec![Value::Integer(0), Value::Integer(1), Value::Integer(2)]
        );
        assert_eq!(
            sweep("seed=range(10,0,-5)"),
            vec![Value::Integer(10), Value::Integer(5)]
        );
        assert_eq!(sweep("x=[1,2],[3]").len(), 2);
        assert!(err("seed=range(1,x)").contains("not an integer"));
        assert!(err("seed=range(1,2,0)").contains("step"));
        assert!(err("seed=range(5,1)").contains("empty"));
    }

    #[test]
    fn delete_add_and_bad_keys() {
        assert_eq!(
            parse_override("~encoders.bert").unwrap().action,
            OverrideAction::Delete
        );
        assert_eq!(set("+aggregate.kind=mean"), Value::String("mean".into()));
        assert!(err("seed").contains("no `=`"));
        assert!(err("~seed=3").contains("takes no value"));
        assert!(err("a..b=1").contains("is not a key"));
        assert!(err("=1").contains("empty key"));
    }

    #[test]
    fn unicode_white_space_is_white_space() {
        // No-break space, narrow no-break space, ideographic space, em space, line separator.
        for ws in ['\u{a0}', '\u{202f}', '\u{3000}', '\u{2003}', '\u{2028}'] {
            assert_eq!(
                sweep(&format!("seed=1,{ws}2")),
                vec![Value::Integer(1), Value::Integer(2)],
                "{ws:?}"
            );
            assert_eq!(
                set(&format!("seed{ws}={ws}3{ws}")),
                Value::Integer(3),
                "{ws:?}"
            );
            assert_eq!(
                set(&format!("x=[{ws}1{ws},{ws}2{ws}]")),
                Value::Array(vec![Value::Integer(1), Value::Integer(2)]),
                "{ws:?}"
            );
            let Value::Table(t) = set(&format!("x={{{ws}a{ws}:{ws}1{ws},{ws}b:'c'{ws}}}")) else {
                panic!("{ws:?}")
            };
            assert_eq!(t["a"], Value::Integer(1));
            assert_eq!(t["b"], Value::String("c".into()));
            assert_eq!(sweep(&format!("seed=range(1,{ws}3)")).len(), 2);
            assert_eq!(
                sweep(&format!("name='a',{ws}\"b\"")),
                vec![Value::String("a".into()), Value::String("b".into())]
            );
        }
        // White space inside a word is part of it; an error names the position in characters.
        assert_eq!(set("name=a\u{a0}b"), Value::String("a\u{a0}b".into()));
        let e = err("x=[1]\u{a0}\u{a0}é");
        assert!(e.contains("unexpected `é` at position 5"), "{e}");
        assert!(err("se\u{a0}ed=1").contains("is not a key"));
    }

    #[test]
    fn tricky_strings_never_panic() {
        const PIECES: &[&str] = &[
            ",", "=", "[", "]", "{", "}", "'", "\"", "\u{a0}", "é", "🦀", "~", "(", ")", "+", ":",
            "\\", "a", "1", " ", "range(", "null", ".",
        ];
        // A small deterministic generator (xorshift), so that a failure repeats.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let len = (next() % 12) as usize;
            let mut arg = String::new();
            if round % 2 == 0 {
                arg.push_str("k=");
            }
            for _ in 0..len {
                arg.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
            }
            // Ok or a clear error; a panic fails the test and prints the input.
            let result = std::panic::catch_unwind(|| parse_override(&arg).map(|_| ()));
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => assert!(!format!("{e:#}").is_empty()),
                Err(_) => panic!("parse_override panicked on {arg:?}"),
            }
        }
    }

    #[test]
    fn null_unsets_and_is_only_a_whole_value() {
        assert_eq!(
            parse_override("train.lr_horizon_epochs=null")
                .unwrap()
                .action,
            OverrideAction::Unset
        );
        assert_eq!(
            parse_override("name=\u{a0}null ").unwrap().action,
            OverrideAction::Unset
        );
        assert_eq!(set("name='null'"), Value::String("null".into()));
        assert_eq!(set("name=\"null\""), Value::String("null".into()));
        assert_eq!(set("name=nullable"), Value::String("nullable".into()));
        for bad in ["x=[1,null]", "x={a:null}", "seed=null,1", "seed=1,null"] {
            let e = err(bad);
            assert!(e.contains("`null` unsets a key"), "{bad}: {e}");
        }
    }
}
