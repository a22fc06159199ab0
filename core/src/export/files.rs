//! Computing, writing and checking the export files: Stripe's schemas and manifest entry, and
//! epilot's component JSON (`epilot/<id>.json`).

use std::fmt;
use std::path::{Path, PathBuf};

use super::stripe_manifest::{self, ManifestError, StripeExtension};
use crate::runtime::ActionInfo;

/// What an export needs to know of an app: its version and its actions.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The extension version written to `stripe-app.yaml` (semver).
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
}

/// Why an export failed, or (for [`check`]) which files are stale.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The existing `stripe-app.yaml` could not be merged into.
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: ManifestError,
    },
    /// Files on disk differ from what would be written (only from [`check`]).
    Stale {
        /// A unified diff of every stale file, from disk to expected.
        diff: String,
        /// The stale files.
        paths: Vec<PathBuf>,
    },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            ExportError::Manifest { path, source } => write!(f, "{}: {source}", path.display()),
            ExportError::Stale { diff, paths } => {
                let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "exported files are stale: {}; run the export again\n{diff}",
                    names.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for ExportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExportError::Io { source, .. } => Some(source),
            ExportError::Manifest { source, .. } => Some(source),
            ExportError::Stale { .. } => None,
        }
    }
}

/// The files an export of `app` into `dir` consists of (reading an existing
/// `stripe-app.yaml` there to merge into).
///
/// # Errors
/// When the existing manifest cannot be read or merged into.
pub fn files(app: &impl Exportable, dir: impl AsRef<Path>) -> Result<Vec<ExportFile>, ExportError> {
    let manifest = app.manifest();
    let dir = dir.as_ref();
    let mut out = Vec::new();
    let mut extensions = Vec::new();
    for action in &manifest.actions {
        let id = action.info.id;
        let base = PathBuf::from("extensions").join(id);
        let input = base.join("input_schema.json");
        let ui = base.join("ui_schema.json");
        out.push(ExportFile {
            path: input.clone(),
            contents: pretty(action.info.input_schema),
        });
        out.push(ExportFile {
            path: ui.clone(),
            contents: pretty(action.info.ui_schema),
        });
        extensions.push(StripeExtension {
            id: id.to_owned(),
            name: action.info.name.to_owned(),
            version: manifest.version.clone(),
            input_schema_path: slash(&input),
            ui_schema_path: slash(&ui),
            form_state: action.form_state,
        });
    }
    for action in &manifest.actions {
        out.push(ExportFile {
            path: PathBuf::from("epilot").join(format!("{}.json", action.info.id)),
            contents: pretty(&epilot_component(&action.info)),
        });
    }
    let manifest_path = dir.join("stripe-app.yaml");
    let existing = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ExportError::Io {
                path: manifest_path,
                source,
            });
        }
    };
    let merged = stripe_manifest::merge(existing.as_deref(), &extensions).map_err(|source| {
        ExportError::Manifest {
            path: manifest_path.clone(),
            source,
        }
    })?;
    out.push(ExportFile {
        path: PathBuf::from("stripe-app.yaml"),
        contents: merged,
    });
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

/// Checks that the files in `dir` are what [`write()`] would write.
///
/// # Errors
/// [`ExportError::Stale`] with a unified diff when any file is missing or differs.
pub fn check(app: &impl Exportable, dir: impl AsRef<Path>) -> Result<(), ExportError> {
    let dir = dir.as_ref();
    let mut diff = String::new();
    let mut paths = Vec::new();
    for file in files(app, dir)? {
        let path = dir.join(&file.path);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != file.contents {
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
        Err(ExportError::Stale { diff, paths })
    }
}

/// The install option holding the server's base URL, filled into the component's URL template.
pub const EPILOT_URL_OPTION: &str = "actionkit_base_url";

/// The epilot app-manifest component of an action: a `CUSTOM_FLOW_ACTION` calling the
/// server's `/epilot/<id>` route. Names and descriptions are given in German and English alike
/// (German is required); translate the German in the exported file if you need to.
fn epilot_component(info: &ActionInfo) -> serde_json::Value {
    let description = info.description.unwrap_or(info.name);
    serde_json::json!({
        "id": info.id,
        "component_type": "CUSTOM_FLOW_ACTION",
        "name": {"de": info.name, "en": info.name},
        "description": {"de": description, "en": description},
        "options": [{
            "key": EPILOT_URL_OPTION,
            "type": "text",
            "label": "Server URL",
            "required": true,
            "description": "Base URL of the actionkit server, e.g. https://actions.example.com"
        }],
        "configuration": {
            "type": "external_integration",
            "external_integration_settings": {
                "url": format!("{{{{{EPILOT_URL_OPTION}}}}}/epilot/{}", info.id),
                "headers": {}
            },
            "wait_for_callback": false
        }
    })
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialise") + "\n"
}

fn slash(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
