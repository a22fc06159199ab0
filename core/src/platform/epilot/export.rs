//! epilot's app files: per action the app-manifest component `epilot/<id>.json`.

use std::path::PathBuf;

use crate::export::{ExportFile, Manifest};
use crate::runtime::ActionInfo;

/// The install option holding the server's base URL, filled into the component's URL template.
pub const URL_OPTION: &str = "actionkit_base_url";

pub(super) fn files(manifest: &Manifest) -> Vec<ExportFile> {
    manifest
        .actions
        .iter()
        .map(|action| {
            ExportFile::json(
                PathBuf::from("epilot").join(format!("{}.json", action.info.id)),
                &component(&action.info),
            )
        })
        .collect()
}

/// The epilot app-manifest component of an action: a `CUSTOM_FLOW_ACTION` calling the
/// server's `/epilot/<id>` route. Names and descriptions are given in German and English alike
/// (German is required); translate the German in the exported file if you need to.
fn component(info: &ActionInfo) -> serde_json::Value {
    let description = info.description.unwrap_or(info.name);
    serde_json::json!({
        "id": info.id,
        "component_type": "CUSTOM_FLOW_ACTION",
        "name": {"de": info.name, "en": info.name},
        "description": {"de": description, "en": description},
        "options": [{
            "key": URL_OPTION,
            "type": "text",
            "label": "Server URL",
            "required": true,
            "description": "Base URL of the actionkit server, e.g. https://actions.example.com"
        }],
        "configuration": {
            "type": "external_integration",
            "external_integration_settings": {
                "url": format!("{{{{{URL_OPTION}}}}}/epilot/{}", info.id),
                "headers": {}
            },
            "wait_for_callback": false
        }
    })
}
