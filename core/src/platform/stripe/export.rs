//! Stripe's app files: per action `extensions/<id>/input_schema.json` and `ui_schema.json`, then
//! `stripe-app.yaml` with the actions' extension entries merged into the existing manifest.

use std::path::Path;

use super::manifest::{self, Permission, StripeExtension};
use crate::export::{ExportError, ExportFile, Manifest};

/// The app manifest, relative to the export directory.
const MANIFEST: &str = "stripe-app.yaml";

pub(super) fn files(manifest: &Manifest, dir: &Path) -> Result<Vec<ExportFile>, ExportError> {
    let mut out = Vec::new();
    let mut extensions = Vec::new();
    for action in &manifest.actions {
        let id = action.info.id;
        let input = format!("extensions/{id}/input_schema.json");
        let ui = format!("extensions/{id}/ui_schema.json");
        out.push(ExportFile::input_schema(
            &input,
            id,
            action.info.input_schema,
        ));
        out.push(ExportFile::json(&ui, action.info.ui_schema));
        extensions.push(StripeExtension {
            id: id.to_owned(),
            name: action.info.name.to_owned(),
            version: manifest.version.clone(),
            description: action.info.description.map(str::to_owned),
            permissions: action
                .info
                .permissions
                .iter()
                .map(|p| Permission {
                    permission: p.name.to_owned(),
                    purpose: p.purpose.to_owned(),
                })
                .collect(),
            input_schema_path: input,
            ui_schema_path: ui,
            form_state: action.form_state,
        });
    }
    let path = dir.join(MANIFEST);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(ExportError::Io { path, source }),
    };
    let merged = manifest::merge(existing.as_deref(), &extensions).map_err(|source| {
        ExportError::Manifest {
            path,
            source: Box::new(source),
        }
    })?;
    out.push(ExportFile::text(MANIFEST, merged));
    Ok(out)
}
