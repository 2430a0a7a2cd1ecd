//! Writing a file atomically: to a temporary name in the same folder, then renamed into place, so that
//! an error never leaves a half-written file under the final name.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The temporary name used for `path`: `.NAME.PID.N.tmp` in the same folder.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Creates `path` with what `write` writes, atomically.
///
/// `write` gets a buffered writer on a temporary file beside `path`; when it returns `Ok`, the file is
/// flushed and renamed to `path` (replacing an existing file). When it fails, or flushing or renaming
/// fails, the temporary file is removed and `path` is left as it was. I/O errors of the writer should be
/// mapped with [`write_error`].
pub fn write_atomic<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    let tmp = temp_path(path);
    let file = File::create(&tmp).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })?;
    let mut writer = BufWriter::new(file);
    let result = write(&mut writer).and_then(|()| {
        writer
            .flush()
            .and_then(|()| writer.get_ref().sync_all())
            .map_err(write_error(path))
    });
    drop(writer);
    let result = result.and_then(|()| std::fs::rename(&tmp, path).map_err(write_error(path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Maps an I/O error on the file that will become `path` to [`Error::Write`].
pub fn write_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_renames_and_failure_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, |w| w.write_all(b"hello").map_err(write_error(&path))).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello");

        let failed = dir.path().join("failed.txt");
        let err = write_atomic(&failed, |w| {
            w.write_all(b"half").map_err(write_error(&failed))?;
            Err(Error::Argument {
                name: "test",
                msg: "stop".into(),
            })
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "invalid test: stop");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["out.txt"]);
    }

    #[test]
    fn missing_folder_is_a_write_error_naming_the_file() {
        let err = write_atomic(Path::new("/nonexistent/dir/x.jsonlines"), |_| Ok(())).unwrap_err();
        assert_eq!(err.to_string(), "cannot write /nonexistent/dir/x.jsonlines");
    }
}
