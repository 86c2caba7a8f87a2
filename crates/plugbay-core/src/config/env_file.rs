//! Reading a `.env`-style file into key/value pairs without touching the
//! process environment.

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// Read `path` as a dotenv file. A missing file gives no pairs; a malformed
/// line is a [`ErrorKind::Config`] error naming the file and line number
/// but never the line's content (it may hold a secret).
pub(crate) fn read_env_file(path: &Path) -> Result<Vec<(String, String)>> {
    let content = match std::fs::read_to_string(path) {
        Ok(content) => content,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::from(e)
                .with_kind(ErrorKind::Config)
                .with_context("file", path.display().to_string()));
        }
    };
    let mut pairs = Vec::new();
    for item in dotenvy::from_read_iter(content.as_bytes()) {
        match item {
            Ok(pair) => pairs.push(pair),
            Err(dotenvy::Error::LineParse(line, index)) => {
                let at = line_number(&content, &line)
                    .map_or_else(|| "a line".to_owned(), |n| format!("line {n}"));
                // The dotenvy error quotes the line: do not attach it.
                return Err(Error::config(format!(
                    "malformed {at} in {} (at character {index})",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(Error::config(format!("cannot read {}", path.display())).with_source(e));
            }
        }
    }
    Ok(pairs)
}

fn line_number(content: &str, bad_line: &str) -> Option<usize> {
    let first = bad_line.lines().next().unwrap_or(bad_line).trim();
    if first.is_empty() {
        return None;
    }
    content
        .lines()
        .position(|l| l.trim() == first)
        .or_else(|| content.lines().position(|l| l.contains(first)))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn missing_file_is_empty_and_malformed_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_env_file(&dir.path().join("nope")).unwrap().is_empty());

        let path = dir.path().join(".env.local");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "# comment\nA=1\nB=\"two words\"\n\nC='x").unwrap();
        drop(f);
        let err = read_env_file(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("line 5"), "{err}");

        std::fs::write(&path, "A=1\nexport B=2\nSECRET=hunter2 oops\n").unwrap();
        let err = read_env_file(&path).unwrap_err();
        assert!(err.message().contains("line 3"), "{err}");
        assert!(!format!("{err:#} {err:?}").contains("hunter2"));

        std::fs::write(&path, "A=1\nexport B=\"two\"\n").unwrap();
        assert_eq!(
            read_env_file(&path).unwrap(),
            vec![("A".into(), "1".into()), ("B".into(), "two".into())]
        );
    }
}
