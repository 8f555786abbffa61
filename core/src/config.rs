//! Configuration files: TOML tables addressed by dotted keys (`user.name`).
//!
//! # Deviation from git
//! git's config is INI-like; pg's is TOML, which has one well-specified syntax and
//! a parser everybody has. Keys are `section.name` as in git.

use std::path::{Path, PathBuf};

/// Errors reading or writing a config file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("config file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path} is not valid TOML: {reason}; fix or remove it")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The key is not `section.name`.
    #[error("'{0}' is not a config key: use section.name, e.g. user.name")]
    BadKey(String),
}

/// One config file, loaded.
#[derive(Clone, Debug)]
pub struct Config {
    path: PathBuf,
    table: toml::Table,
}

impl Config {
    /// Loads `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(Error::Io { path: path.to_owned(), source }),
        };
        let table = text
            .parse::<toml::Table>()
            .map_err(|e| Error::Parse { path: path.to_owned(), reason: e.to_string() })?;
        Ok(Config { path: path.to_owned(), table })
    }

    fn split(key: &str) -> Result<(&str, &str), Error> {
        match key.split_once('.') {
            Some((section, name)) if !section.is_empty() && !name.is_empty() => Ok((section, name)),
            _ => Err(Error::BadKey(key.to_owned())),
        }
    }

    /// The value of `section.name` as text.
    pub fn get(&self, key: &str) -> Result<Option<String>, Error> {
        let (section, name) = Self::split(key)?;
        let value = self.table.get(section).and_then(|s| s.get(name));
        Ok(value.map(|v| match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
    }

    /// Sets `section.name` and writes the file (atomically, through a rename).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        let (section, name) = Self::split(key)?;
        let entry = self.table.entry(section).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let section = entry.as_table_mut().expect("made a table above");
        section.insert(name.to_owned(), toml::Value::String(value.to_owned()));
        self.save()
    }

    /// Removes `section.name` (and the section, once empty) and writes the file;
    /// whether it was there.
    pub fn remove(&mut self, key: &str) -> Result<bool, Error> {
        let (section, name) = Self::split(key)?;
        let Some(table) = self.table.get_mut(section).and_then(toml::Value::as_table_mut) else {
            return Ok(false);
        };
        let removed = table.remove(name).is_some();
        if table.is_empty() {
            self.table.remove(section);
        }
        self.save()?;
        Ok(removed)
    }

    /// The names and text values in `section`, sorted by name.
    pub fn section(&self, section: &str) -> Vec<(String, String)> {
        let Some(table) = self.table.get(section).and_then(toml::Value::as_table) else { return Vec::new() };
        let mut entries: Vec<(String, String)> = table
            .iter()
            .map(|(name, value)| {
                (name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned))
            })
            .collect();
        entries.sort();
        entries
    }

    fn save(&self) -> Result<(), Error> {
        let io = |source| Error::Io { path: self.path.clone(), source };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        crate::fsutil::write_atomically(&self.path, self.table.to_string().as_bytes()).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_then_load_reads_the_value_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        let mut config = Config::load(&path).unwrap();
        assert_eq!(config.get("user.name").unwrap(), None);
        config.set("user.name", "A U Thor").unwrap();
        assert_eq!(Config::load(&path).unwrap().get("user.name").unwrap().as_deref(), Some("A U Thor"));
        assert!(matches!(config.get("nodot"), Err(Error::BadKey(_))));
    }

    #[test]
    fn invalid_toml_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "[user\nname=").unwrap();
        assert!(matches!(Config::load(&path), Err(Error::Parse { .. })));
    }
}
