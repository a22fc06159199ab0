//! Computing, writing and checking the export files; what the files are is each platform's
//! [`export`](crate::platform::Platform::export).

use std::path::{Path, PathBuf};

use super::drift::SchemaChange;
use crate::runtime::ActionInfo;

/// What an export needs to know of an app: its version and its actions.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The app's version (semver), written into the platforms' manifests.
    pub version: String,
    /// The actions, by id.
    pub actions: Vec<ExportAction>,
}

/// Anything an export can be made of: an [`App`](crate::server::App) or a [`Manifest`].
pub trait Exportable {
    /// The app's version and actions.
    fn manifest(&self) -> Manifest;
}

impl Exportable for Manifest {
    fn manifest(&self) -> Manifest {
        self.clone()
    }
}

/// One action to export.
#[derive(Clone, Debug)]
pub struct ExportAction {
    /// Its model.
    pub info: ActionInfo,
    /// Whether it answers `get_form_state`.
    pub form_state: bool,
}

/// One file of an export, relative to the export directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportFile {
    /// Path relative to the export directory.
    pub path: PathBuf,
    /// Its complete contents.
    pub contents: String,
    /// The action whose input schema this file is, if it is one: [`check`] then says how a
    /// change to it affects saved configurations ([`drift`](super::drift)).
    pub input_schema_of: Option<String>,
}

impl ExportFile {
    /// A JSON file: `value` pretty-printed, with a final newline.
    ///
    /// ```
    /// let file = actionkit_core::export::ExportFile::json("a/b.json", &serde_json::json!({"x": 1}));
    /// assert_eq!(file.path, std::path::Path::new("a/b.json"));
    /// assert_eq!(file.contents, "{\n  \"x\": 1\n}\n");
    /// ```
    pub fn json(path: impl Into<PathBuf>, value: &serde_json::Value) -> Self {
        ExportFile {
            path: path.into(),
            contents: serde_json::to_string_pretty(value).expect("JSON values serialise") + "\n",
            input_schema_of: None,
        }
    }

    /// A text file.
    ///
    /// ```
    /// let file = actionkit_core::export::ExportFile::text("app.yaml", "id: app\n");
    /// assert_eq!(file.contents, "id: app\n");
    /// ```
    pub fn text(path: impl Into<PathBuf>, contents: impl Into<String>) -> Self {
        ExportFile {
            path: path.into(),
            contents: contents.into(),
            input_schema_of: None,
        }
    }

    /// The input schema of action `action` as a JSON file; [`check`] classifies changes to it.
    ///
    /// ```
    /// let schema = serde_json::json!({"type": "object"});
    /// let file = actionkit_core::export::ExportFile::input_schema("ping/input.json", "ping", &schema);
    /// assert_eq!(file.input_schema_of.as_deref(), Some("ping"));
    /// ```
    pub fn input_schema(path: impl Into<PathBuf>, action: &str, value: &serde_json::Value) -> Self {
        ExportFile {
            input_schema_of: Some(action.to_owned()),
            ..Self::json(path, value)
        }
    }
}

/// Why an export failed, or (for [`check`]) which files are stale.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A file already in the export directory that a platform merges into (its app manifest)
    /// could not be merged into.
    #[error("{}: {source}", .path.display())]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (the platform's own error type).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Files on disk differ from what would be written (only from [`check`]).
    #[error(
        "exported files are stale: {}; run the export again{}\n{diff}",
        joined(.paths),
        classified(.changes)
    )]
    Stale {
        /// A unified diff of every stale file, from disk to expected.
        diff: String,
        /// The stale files.
        paths: Vec<PathBuf>,
        /// For each action whose input schema changed: what the change does to configurations
        /// saved against the committed schema, breaking changes first.
        changes: Vec<SchemaDrift>,
    },
}

/// How an action's input schema moved from the committed file to the export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaDrift {
    /// The action's id.
    pub action: String,
    /// Each change, breaking ones first.
    pub changes: Vec<SchemaChange>,
    /// When the committed schema is one of the action's declared earlier versions: its number
    /// (`1` for the oldest). Saved configurations of that shape are migrated, so a breaking
    /// change is covered.
    pub earlier_version: Option<usize>,
}

/// The schema changes of [`ExportError::Stale`], as its message lists them.
fn classified(drifts: &[SchemaDrift]) -> String {
    let mut out = String::new();
    for drift in drifts {
        let (action, list) = (&drift.action, &drift.changes);
        let breaking = list.iter().any(|change| change.breaking);
        if let (true, Some(version)) = (breaking, drift.earlier_version) {
            out.push_str(&format!(
                "\nthe input schema of `{action}` changes in a breaking way, and the committed \
                 schema is its declared earlier version {version}: saved workflows are migrated:"
            ));
        } else if breaking {
            out.push_str(&format!(
                "\nthe input schema of `{action}` changes in a breaking way: workflows saved with \
                 the committed schema would be refused with 400:"
            ));
        } else {
            out.push_str(&format!(
                "\nthe input schema of `{action}` changes compatibly: saved workflows keep working:"
            ));
        }
        for change in list {
            out.push_str(&format!("\n  {change}"));
        }
        if breaking && drift.earlier_version.is_none() {
            out.push_str(
                "\n  fix: declare the committed shape as the previous version (a type with the \
                 committed fields that derives `Action` with the same id, `From` it into the \
                 action, and `#[action(previous = ThatType)]`), or keep the change compatible",
            );
        }
    }
    out
}

/// The paths of [`ExportError::Stale`], as its message lists them.
fn joined(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

/// The files an export of `app` into `dir` consists of: every registered platform's files, in
/// registration order (a platform reads what it merges into from `dir`).
///
/// ```
/// use actionkit_core::export::{ExportFile, files};
/// # #[derive(actionkit::Action, serde::Deserialize)]
/// # #[action(id = "ping", execute = ping)]
/// # struct Ping {}
/// # async fn ping(_: Ping) -> Result<&'static str, actionkit_core::ActionError> { Ok("pong") }
/// let app = actionkit_core::server::App::new(()).action::<Ping>();
/// let empty = std::env::temp_dir().join("actionkit-doc-export-nothing-here");
/// let files = files(&app, &empty)?;
/// assert!(files.iter().any(|f| f.path.ends_with("ping/input_schema.json")));
/// assert!(files.iter().all(|f: &ExportFile| !f.contents.is_empty()));
/// # Ok::<(), actionkit_core::export::ExportError>(())
/// ```
///
/// # Errors
/// When a platform cannot read or merge into a file already in `dir`.
pub fn files(app: &impl Exportable, dir: impl AsRef<Path>) -> Result<Vec<ExportFile>, ExportError> {
    files_of(&app.manifest(), dir.as_ref())
}

/// [`files`] of an app's manifest.
fn files_of(manifest: &Manifest, dir: &Path) -> Result<Vec<ExportFile>, ExportError> {
    let mut out = Vec::new();
    for platform in crate::platform::defaults() {
        out.extend(platform.export(manifest, dir)?);
    }
    // The published schema of every earlier version, kept beside the platforms' files.
    for action in &manifest.actions {
        let earlier = (action.info.earlier_schemas)();
        for (newest_first, schema) in earlier.iter().enumerate() {
            let version = earlier.len() - newest_first;
            out.push(ExportFile::json(
                format!("versions/{}/v{version}.input_schema.json", action.info.id),
                schema,
            ));
        }
    }
    Ok(out)
}

/// Writes the export into `dir` (creating directories), returning the files whose contents
/// changed.
///
/// # Errors
/// When a file cannot be written or the existing manifest cannot be merged into.
pub fn write(app: &impl Exportable, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, ExportError> {
    let dir = dir.as_ref();
    let mut changed = Vec::new();
    for file in files(app, dir)? {
        let path = dir.join(&file.path);
        if std::fs::read_to_string(&path).is_ok_and(|old| old == file.contents) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ExportError::Io {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(&path, &file.contents).map_err(|source| ExportError::Io {
            path: path.clone(),
            source,
        })?;
        changed.push(file.path);
    }
    Ok(changed)
}

/// Checks that the files in `dir` are what [`write()`] would write, and for a changed input
/// schema, whether configurations saved against the committed one still decode
/// ([`drift::classify`](super::drift::classify)).
///
/// # Errors
/// [`ExportError::Stale`] with a unified diff when any file is missing or differs.
pub fn check(app: &impl Exportable, dir: impl AsRef<Path>) -> Result<(), ExportError> {
    let dir = dir.as_ref();
    let manifest = app.manifest();
    let mut diff = String::new();
    let mut paths = Vec::new();
    let mut changes = Vec::new();
    for file in files_of(&manifest, dir)? {
        let path = dir.join(&file.path);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != file.contents {
            if let (Some(action), Ok(old), Ok(new)) = (
                &file.input_schema_of,
                serde_json::from_str::<serde_json::Value>(&current),
                serde_json::from_str::<serde_json::Value>(&file.contents),
            ) {
                let list = super::drift::classify(&old, &new);
                if !list.is_empty() {
                    let earlier = manifest
                        .actions
                        .iter()
                        .find(|a| a.info.id == action)
                        .map_or_else(Vec::new, |a| (a.info.earlier_schemas)());
                    changes.push(SchemaDrift {
                        action: action.clone(),
                        changes: list,
                        earlier_version: earlier
                            .iter()
                            .position(|schema| **schema == old)
                            .map(|newest_first| earlier.len() - newest_first),
                    });
                }
            }
            let name = slash(&file.path);
            let text = similar::TextDiff::from_lines(&current, &file.contents);
            diff.push_str(
                &text
                    .unified_diff()
                    .header(&format!("a/{name}"), &format!("b/{name}"))
                    .to_string(),
            );
            paths.push(file.path);
        }
    }
    if paths.is_empty() {
        Ok(())
    } else {
        Err(ExportError::Stale {
            diff,
            paths,
            changes,
        })
    }
}

fn slash(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
