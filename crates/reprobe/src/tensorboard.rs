//! TensorBoard event files, written without TensorFlow or a protobuf compiler.
//!
//! A run folder's `tb/` holds one `events.out.tfevents.<unix seconds>.<hostname>` file per start of the run
//! (a resumed run opens a new one; TensorBoard merges the files of a folder). A file is a sequence of
//! TFRecords:
//!
//! ```text
//! u64 length (little endian) | u32 masked CRC32C of the 8 length bytes | data | u32 masked CRC32C of data
//! ```
//!
//! where the data is a serialized `tensorflow.Event`. Only the few fields scalars need are encoded, by hand:
//! `wall_time` (1, double), `step` (2, int64), `file_version` (3, string; `"brain.Event:2"` in the first
//! record), `summary` (5: `repeated Value value = 1`, `Value { string tag = 1; float simple_value = 2 }`) and
//! `session_log` (6: `SessionLog { status = 1 }`, START marks where a resumed run goes on, so that
//! TensorBoard drops the steps of the killed run after that point).
//!
//! (The `tensorboard-rs` crate was not used: it is no longer maintained and pulls `protobuf` 2 and `image`.)
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};

/// The `file_version` of the first event of every file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// The CRC32C (Castagnoli) lookup table, reflected polynomial 0x82F63B78.
fn crc_table() -> &'static [u32; 256] {
    static TABLE: OnceLock<[u32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [0u32; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut crc = i as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
            }
            *entry = crc;
        }
        table
    })
}

/// CRC32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    let table = crc_table();
    !data.iter().fold(!0u32, |crc, &b| {
        table[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// The masked CRC32C of TFRecord files: `rotate_right(crc, 15) + 0xa282ead8`.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    crc32c(data).rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord: length, masked CRC of the length, data, masked CRC of the data.
pub fn encode_record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_varint(out, ((field << 3) | 2) as u64);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// What an event carries besides its time and step.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody<'a> {
    /// The first record of a file.
    FileVersion(&'a str),
    /// Scalars: `(tag, value)`.
    Scalars(&'a [(String, f32)]),
    /// `SessionLog { status: START }`: a (resumed) run starts at this step.
    SessionStart,
}

/// A serialized `tensorflow.Event`.
pub fn encode_event(wall_time: f64, step: i64, body: &EventBody) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(0x09); // field 1, fixed64
    out.extend_from_slice(&wall_time.to_le_bytes());
    out.push(0x10); // field 2, varint
    put_varint(&mut out, step as u64);
    match body {
        EventBody::FileVersion(v) => put_bytes(&mut out, 3, v.as_bytes()),
        EventBody::Scalars(values) => {
            let mut summary = Vec::new();
            for (tag, value) in values.iter() {
                let mut v = Vec::new();
                put_bytes(&mut v, 1, tag.as_bytes());
                v.push(0x15); // field 2, fixed32
                v.extend_from_slice(&value.to_le_bytes());
                put_bytes(&mut summary, 1, &v);
            }
            put_bytes(&mut out, 5, &summary);
        }
        EventBody::SessionStart => put_bytes(&mut out, 6, &[0x08, 0x01]),
    }
    out
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).replace(['/', '\\'], "_");
    if rc != 0 || name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Writes one event file.
pub struct EventWriter {
    file: BufWriter<File>,
    path: PathBuf,
}

impl EventWriter {
    /// Creates `dir` if needed and a new event file in it (never an existing one: a second file of the same
    /// second gets a `.1`, `.2`, ... suffix), and writes the `file_version` record.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let base = format!(
            "events.out.tfevents.{}.{}",
            now().floor() as u64,
            hostname()
        );
        let mut n = 0;
        let (file, path) = loop {
            let name = if n == 0 {
                base.clone()
            } else {
                format!("{base}.{n}")
            };
            let path = dir.join(name);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(f) => break (f, path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        };
        let mut writer = EventWriter {
            file: BufWriter::new(file),
            path,
        };
        writer.write_event(0, &EventBody::FileVersion(FILE_VERSION))?;
        writer.flush()?;
        Ok(writer)
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one event (buffered; see [`Self::flush`]).
    pub fn write_event(&mut self, step: u64, body: &EventBody) -> Result<()> {
        let record = encode_record(&encode_event(now(), step as i64, body));
        self.file
            .write_all(&record)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Writes scalars `(tag, value)` at `step`, stored as f32 like every TensorBoard scalar.
    pub fn add_scalars(&mut self, step: u64, values: &[(String, f64)]) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let values: Vec<(String, f32)> =
            values.iter().map(|(t, v)| (t.clone(), *v as f32)).collect();
        self.write_event(step, &EventBody::Scalars(&values))
    }

    /// Marks that a resumed run goes on at `step`: TensorBoard drops what older files hold from `step` on.
    pub fn session_start(&mut self, step: u64) -> Result<()> {
        self.write_event(step, &EventBody::SessionStart)
    }

    /// Flushes the buffered events to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.file
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let _ = self.file.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::manual_rotate)] // the mask's formula as TensorFlow writes it
    fn crc32c_and_its_mask_match_known_values() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        for data in [&b"123456789"[..], b"", b"brain.Event:2"] {
            let crc = crc32c(data);
            assert_eq!(
                masked_crc32c(data),
                ((crc >> 15) | (crc << 17)).wrapping_add(0xa282ead8)
            );
        }
        assert_eq!(
            masked_crc32c(b"123456789"),
            0xE306_9283u32.rotate_right(15).wrapping_add(0xa282ead8)
        );
    }

    #[test]
    fn a_record_is_length_crc_data_crc() {
        let rec = encode_record(b"abc");
        assert_eq!(rec.len(), 8 + 4 + 3 + 4);
        assert_eq!(&rec[..8], &3u64.to_le_bytes());
        assert_eq!(
            &rec[8..12],
            &masked_crc32c(&3u64.to_le_bytes()).to_le_bytes()
        );
        assert_eq!(&rec[12..15], b"abc");
        assert_eq!(&rec[15..], &masked_crc32c(b"abc").to_le_bytes());
    }

    #[test]
    fn an_event_is_encoded_field_by_field() {
        let values = [("a".to_string(), 1.5f32)];
        let ev = encode_event(2.0, 300, &EventBody::Scalars(&values));
        let mut want = vec![0x09];
        want.extend_from_slice(&2.0f64.to_le_bytes());
        want.extend_from_slice(&[0x10, 0xac, 0x02]); // 300 as a varint
        want.extend_from_slice(&[0x2a, 10, 0x0a, 8, 0x0a, 1, b'a', 0x15]);
        want.extend_from_slice(&1.5f32.to_le_bytes());
        assert_eq!(ev, want);
    }

    // A small reader: the records of a file, with both checksums verified.
    fn read_records(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            let len_bytes = &bytes[pos..pos + 8];
            let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
            let len_crc = u32::from_le_bytes(bytes[pos + 8..pos + 12].try_into().unwrap());
            assert_eq!(len_crc, masked_crc32c(len_bytes), "length checksum");
            let data = &bytes[pos + 12..pos + 12 + len];
            let data_crc =
                u32::from_le_bytes(bytes[pos + 12 + len..pos + 16 + len].try_into().unwrap());
            assert_eq!(data_crc, masked_crc32c(data), "data checksum");
            out.push(data.to_vec());
            pos += 16 + len;
        }
        out
    }

    fn varint(data: &[u8], pos: &mut usize) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = data[*pos];
            *pos += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    /// The protobuf fields of a message: (field number, varint or fixed value, or bytes).
    fn fields(data: &[u8]) -> Vec<(u64, Result<u64, Vec<u8>>)> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let key = varint(data, &mut pos);
            let value = match key & 7 {
                0 => Ok(varint(data, &mut pos)),
                1 => {
                    pos += 8;
                    Ok(u64::from_le_bytes(data[pos - 8..pos].try_into().unwrap()))
                }
                5 => {
                    pos += 4;
                    Ok(u32::from_le_bytes(data[pos - 4..pos].try_into().unwrap()) as u64)
                }
                2 => {
                    let len = varint(data, &mut pos) as usize;
                    pos += len;
                    Err(data[pos - len..pos].to_vec())
                }
                w => panic!("wire type {w}"),
            };
            out.push((key >> 3, value));
        }
        out
    }

    #[test]
    fn scalars_written_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let written: Vec<(u64, Vec<(String, f64)>)> = vec![
            (
                1,
                vec![
                    ("step/train/loss".into(), 2.5),
                    ("step/lr/task".into(), 2e-4),
                ],
            ),
            (2, vec![("step/train/loss".into(), 1.25)]),
            (2, vec![("val/f1".into(), 0.3125), ("epoch".into(), 1.0)]),
            (130, vec![("val/f1".into(), -1e-3)]),
        ];
        let path = {
            let mut w = EventWriter::create(dir.path()).unwrap();
            w.session_start(1).unwrap();
            for (step, values) in &written {
                w.add_scalars(*step, values).unwrap();
            }
            w.path().to_path_buf()
        };
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("events.out.tfevents."), "{name}");
        // A second writer in the same folder never reuses the file.
        let second = EventWriter::create(dir.path()).unwrap();
        assert_ne!(second.path(), path);

        let records = read_records(&std::fs::read(&path).unwrap());
        assert_eq!(records.len(), 2 + written.len());
        let first = fields(&records[0]);
        assert_eq!(first[1], (2, Ok(0)));
        assert_eq!(first[2], (3, Err(FILE_VERSION.as_bytes().to_vec())));
        let wall = f64::from_bits(*first[0].1.as_ref().unwrap());
        assert!(wall > 1.6e9, "wall time {wall}");
        assert_eq!(fields(&records[1])[2], (6, Err(vec![0x08, 0x01])));

        for (record, (step, values)) in records[2..].iter().zip(&written) {
            let f = fields(record);
            assert_eq!(f[1], (2, Ok(*step)));
            let (5, Err(summary)) = &f[2] else {
                panic!("no summary: {f:?}")
            };
            let read: Vec<(String, f64)> = fields(summary)
                .into_iter()
                .map(|(n, v)| {
                    assert_eq!(n, 1);
                    let value = fields(&v.unwrap_err());
                    let (1, Err(tag)) = &value[0] else { panic!() };
                    let (2, Ok(bits)) = value[1] else { panic!() };
                    (
                        String::from_utf8(tag.clone()).unwrap(),
                        f32::from_bits(bits as u32) as f64,
                    )
                })
                .collect();
            let want: Vec<(String, f64)> = values
                .iter()
                .map(|(t, v)| (t.clone(), *v as f32 as f64))
                .collect();
            assert_eq!(read, want);
        }
    }
}
