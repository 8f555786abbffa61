//! Paths as a person types and reads them: relative to the directory they
//! stand in, where the repository keeps them relative to its top.

use super::{Error, Result};
use crate::Repository;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Converts a user's path (relative to `cwd`) to a repository path.
pub fn repo_path(repo: &Repository, cwd: &Path, user_path: &Path) -> Result<Vec<u8>> {
    let joined = cwd.join(user_path);
    let mut normal = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::ParentDir => {
                normal.pop();
            }
            std::path::Component::CurDir => {}
            other => normal.push(other),
        }
    }
    let shown = user_path.display().to_string();
    let rel = normal.strip_prefix(repo.workdir()).map_err(|_| Error::Outside(shown.clone()))?;
    let bytes = rel.as_os_str().as_bytes().to_vec();
    if bytes.starts_with(b".pg") && (bytes.len() == 3 || bytes[3] == b'/') {
        return Err(Error::Outside(shown));
    }
    Ok(bytes)
}

/// `path` (from the top of the working copy) as seen from the directory `dir`
/// (from the top too; `""` is the top), as git prints status: `../` for each of
/// `dir`'s components that `path` does not share. A trailing `/` (an untracked
/// directory) is kept, and the directory itself reads `./`.
pub fn relative_path(dir: &[u8], path: &[u8]) -> Vec<u8> {
    if dir.is_empty() {
        return path.to_vec();
    }
    let (path, slash) = match path.strip_suffix(b"/") {
        Some(trimmed) => (trimmed, true),
        None => (path, false),
    };
    let dir: Vec<&[u8]> = dir.split(|&b| b == b'/').collect();
    let parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let shared = dir.iter().zip(&parts).take_while(|(a, b)| a == b).count();
    let mut out = b"../".repeat(dir.len() - shared);
    out.extend(parts[shared..].join(&b'/'));
    if out.is_empty() {
        return b"./".to_vec();
    }
    if slash && !out.ends_with(b"/") {
        out.push(b'/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths_read_from_where_one_stands() {
        let cases: [(&str, &str, &str); 7] = [
            ("", "src/main.rs", "src/main.rs"),
            ("src", "src/main.rs", "main.rs"),
            ("src", "README.md", "../README.md"),
            ("src/a", "src/b/c", "../b/c"),
            ("src", "srcs/x", "../srcs/x"),
            ("src", "src/", "./"),
            ("docs", "src/new/", "../src/new/"),
        ];
        for (dir, path, shown) in cases {
            assert_eq!(relative_path(dir.as_bytes(), path.as_bytes()), shown.as_bytes(), "{path} from {dir}");
        }
    }

    fn component() -> impl Strategy<Value = String> {
        "[ab]{1,2}"
    }

    proptest! {
        /// Going from `dir` along the shown path comes back to `path`.
        #[test]
        fn the_shown_path_leads_back(
            dir in proptest::collection::vec(component(), 0..4),
            path in proptest::collection::vec(component(), 1..4),
        ) {
            let shown = relative_path(dir.join("/").as_bytes(), path.join("/").as_bytes());
            let mut at = dir.clone();
            for part in String::from_utf8(shown).unwrap().split('/') {
                match part {
                    ".." => { at.pop(); }
                    "." | "" => {}
                    name => at.push(name.to_owned()),
                }
            }
            prop_assert_eq!(at, path);
        }
    }
}
