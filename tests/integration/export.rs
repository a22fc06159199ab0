//! Export: the Stripe app files from the flagship example, merged into an existing manifest,
//! and the drift check on fresh and stale trees, through the library and the CLI.

use std::path::Path;
use std::process::ExitCode;

use actionkit::App;
use actionkit::export::{self, ExportError};
use actionkit::platform::stripe::manifest::ManifestError;
use actionkit::server::cli::{Command, ExportArgs};

use crate::fixtures::send_email::input::SendEmail;
use crate::fixtures::send_email::mailer::Mailer;
use crate::support::temp_path;

fn app() -> App<Mailer> {
    App::new(Mailer::new(temp_path("outbox.jsonl")))
        .version("1.2.0")
        .action::<SendEmail>()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

const FRESH_MANIFEST: &str = r#"extensions:
  - id: "send_email"
    name: "Send email"
    version: "1.2.0"
    description: "Send an email to a mailing list."
    interface_id: extend.workflows.custom_action
    permissions:
      - permission: workflow_custom_action_run_write
        purpose: "Runs custom actions in workflows and accesses data from earlier workflow steps"
    methods:
      execute:
        implementation_type: remote_function
        custom_input:
          input_schema:
            type: json_schema
            content: extensions/send_email/input_schema.json
          ui_schema:
            type: jsonforms
            content: extensions/send_email/ui_schema.json
      get_form_state:
        implementation_type: remote_function
"#;

#[test]
fn a_fresh_export_writes_the_documented_files() {
    let dir = temp_path("stripe-app");
    let written = export::write(&app(), &dir).expect("export");
    assert_eq!(written.len(), 4);
    let component: serde_json::Value =
        serde_json::from_str(&read(&dir, "epilot/send_email.json")).unwrap();
    assert_eq!(component["component_type"], "CUSTOM_FLOW_ACTION");
    assert_eq!(
        component["name"],
        serde_json::json!({"de": "Send email", "en": "Send email"})
    );
    assert_eq!(component["configuration"]["type"], "external_integration");
    assert_eq!(
        component["configuration"]["external_integration_settings"]["url"],
        "{{actionkit_base_url}}/epilot/send_email"
    );
    assert_eq!(component["options"][0]["key"], "actionkit_base_url");
    let input: serde_json::Value =
        serde_json::from_str(&read(&dir, "extensions/send_email/input_schema.json")).unwrap();
    assert_eq!(&input, <SendEmail as actionkit::Action>::input_schema());
    let ui = read(&dir, "extensions/send_email/ui_schema.json");
    assert!(ui.ends_with("}\n"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ui).unwrap()["elements"][3]["options"]["format"],
        "dynamic_schema"
    );
    assert_eq!(read(&dir, "stripe-app.yaml"), FRESH_MANIFEST);
    assert!(
        export::write(&app(), &dir).unwrap().is_empty(),
        "a second export changes nothing"
    );
    export::check(&app(), &dir).expect("fresh files pass the check");
}

#[test]
fn each_platform_gives_its_files_in_registration_order() {
    let dir = temp_path("stripe-app");
    let paths: Vec<String> = export::files(&app(), &dir)
        .expect("export")
        .iter()
        .map(|f| f.path.to_string_lossy().replace('\\', "/"))
        .collect();
    assert_eq!(
        paths,
        [
            "extensions/send_email/input_schema.json",
            "extensions/send_email/ui_schema.json",
            "stripe-app.yaml",
            "epilot/send_email.json",
        ]
    );
}

#[test]
fn a_manifest_that_cannot_be_merged_into_names_the_file_and_the_fix() {
    let dir = temp_path("stripe-app");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stripe-app.yaml");
    std::fs::write(&path, "extensions: send_email\n").unwrap();
    let Err(err @ ExportError::Manifest { .. }) = export::files(&app(), &dir) else {
        panic!("a scalar `extensions` cannot be merged into")
    };
    assert_eq!(
        err.to_string(),
        format!(
            "{}: `extensions` at line 1, column 13 must be a list of `- id: …` entries, found the \
             value `send_email`; write each extension as a `- ` item under `extensions:`",
            path.display()
        )
    );
    let source = std::error::Error::source(&err).expect("the platform's error");
    assert!(source.downcast_ref::<ManifestError>().is_some());
}

#[test]
fn the_entry_is_merged_into_an_existing_manifest() {
    let dir = temp_path("stripe-app");
    std::fs::create_dir_all(&dir).unwrap();
    let existing = "# My Stripe app\nid: com.example.mailer\nversion: 1.2.0\nname: Mailer # shown in the marketplace\npermissions:\n  - permission: customer_read\n    purpose: \"Look up recipients\"\nextensions:\n  - id: footer\n    interface_id: extend.invoicing.footer\n";
    std::fs::write(dir.join("stripe-app.yaml"), existing).unwrap();
    export::write(&app(), &dir).unwrap();
    let merged = read(&dir, "stripe-app.yaml");
    assert!(
        merged.starts_with(&existing[..existing.find("extensions:").unwrap()]),
        "everything before extensions is byte for byte the same:\n{merged}"
    );
    assert!(merged.contains("  - id: footer\n    interface_id: extend.invoicing.footer\n"));
    assert!(merged.contains("  - id: \"send_email\"\n"));
    assert!(merged.contains("content: extensions/send_email/ui_schema.json"));
    export::check(&app(), &dir).expect("fresh after the merge");
}

#[test]
fn a_stale_tree_fails_the_check_with_a_diff() {
    let dir = temp_path("stripe-app");
    export::write(&app(), &dir).unwrap();
    let path = dir.join("extensions/send_email/input_schema.json");
    let stale = read(&dir, "extensions/send_email/input_schema.json")
        .replace("Select a mailing list", "Pick a list");
    std::fs::write(&path, stale).unwrap();
    std::fs::remove_file(dir.join("extensions/send_email/ui_schema.json")).unwrap();
    let Err(ExportError::Stale {
        diff,
        paths,
        changes,
    }) = export::check(&app(), &dir)
    else {
        panic!("stale files must fail the check")
    };
    assert_eq!(paths.len(), 2);
    // A description is an annotation: saved workflows keep working.
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].action, "send_email");
    assert_eq!(changes[0].earlier_version, None);
    assert_eq!(
        changes[0].changes[0].to_string(),
        "compatible: /properties/audience_id/description: `description` changed"
    );
    assert!(
        diff.contains("-    \"audience_id\": {")
            || diff.contains("-      \"description\": \"Pick a list\""),
        "{diff}"
    );
    assert!(
        diff.contains("+      \"description\": \"Select a mailing list\""),
        "{diff}"
    );
    assert!(
        diff.contains("b/extensions/send_email/ui_schema.json"),
        "{diff}"
    );
}

#[test]
fn a_breaking_input_change_is_named_with_its_pointer_and_the_fix() {
    let dir = temp_path("stripe-app");
    export::write(&app(), &dir).unwrap();
    // The committed schema as an earlier release published it: a field the current input no
    // longer has, and a looser `segment_id`.
    let path = dir.join("extensions/send_email/input_schema.json");
    let mut committed: serde_json::Value =
        serde_json::from_str(&read(&dir, "extensions/send_email/input_schema.json")).unwrap();
    committed["properties"]["reply_to"] = serde_json::json!({"type": "string"});
    committed["properties"]["message"]["maxLength"] = serde_json::json!(100_000);
    std::fs::write(&path, serde_json::to_string_pretty(&committed).unwrap()).unwrap();
    let err = export::check(&app(), &dir).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(
            "the input schema of `send_email` changes in a breaking way: workflows saved with the \
             committed schema would be refused with 400:\n  \
             breaking: /properties/reply_to: field `reply_to` removed or renamed\n"
        ),
        "{message}"
    );
    assert!(
        message.contains("\n  fix: declare the committed shape as the previous version"),
        "{message}"
    );
}

#[tokio::test]
async fn the_cli_export_and_check_exit_codes() {
    let dir = temp_path("stripe-app");
    let run = |check: bool| {
        app().run(Command::Export(ExportArgs {
            out: dir.clone(),
            check,
        }))
    };
    assert_eq!(run(true).await, ExitCode::FAILURE, "nothing exported yet");
    assert_eq!(run(false).await, ExitCode::SUCCESS);
    assert_eq!(run(true).await, ExitCode::SUCCESS);
    std::fs::write(dir.join("stripe-app.yaml"), "extensions: []\n").unwrap();
    assert_eq!(run(true).await, ExitCode::FAILURE, "a stale manifest");
}
