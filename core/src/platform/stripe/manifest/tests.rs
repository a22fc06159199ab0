use proptest::prelude::*;
use serde_json::{Value, json};

use super::tree::{Kind, Node, Tree};
use super::*;

fn ext(id: &str, form_state: bool) -> StripeExtension {
    StripeExtension {
        id: id.into(),
        name: "Send email".into(),
        version: "0.1.0".into(),
        description: None,
        permissions: Vec::new(),
        input_schema_path: format!("extensions/{id}/input_schema.json"),
        ui_schema_path: format!("extensions/{id}/ui_schema.json"),
        form_state,
    }
}

/// The file read back as JSON (every scalar as a string), to check meaning, not bytes.
fn to_json(src: &str) -> Value {
    fn convert(node: &Node) -> Value {
        match &node.kind {
            Kind::Scalar { value, .. } => Value::String(value.clone()),
            Kind::Alias => Value::String("*alias".into()),
            Kind::Map { entries, .. } => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.text().unwrap_or("?").to_owned(), convert(&e.value)))
                    .collect(),
            ),
            Kind::Seq { items, .. } => Value::Array(items.iter().map(convert).collect()),
        }
    }
    Tree::parse(src)
        .expect("output parses")
        .0
        .map_or(Value::Null, |root| convert(&root))
}

/// The entry with `id` in the file.
fn entry(src: &str, id: &str) -> Value {
    let doc = to_json(src);
    let found: Vec<&Value> = doc["extensions"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| e["id"] == id)
        .collect();
    assert_eq!(found.len(), 1, "one `{id}` entry in:\n{src}");
    found[0].clone()
}

/// The entry for `ext` is exactly what a fresh file holds for it.
fn assert_whole(src: &str, ext: &StripeExtension) {
    let fresh = merge(None, std::slice::from_ref(ext)).unwrap();
    assert_eq!(
        json!([entry(src, &ext.id)]),
        to_json(&fresh)["extensions"],
        "entry `{}` in:\n{src}",
        ext.id
    );
}

fn merged(existing: &str, extensions: &[StripeExtension]) -> String {
    let out = merge(Some(existing), extensions).unwrap_or_else(|e| panic!("{e}\nin:\n{existing}"));
    assert_eq!(
        merge(Some(&out), extensions).as_ref(),
        Ok(&out),
        "not idempotent; first output:\n{out}"
    );
    for ext in extensions {
        assert_whole(&out, ext);
    }
    out
}

const SEND_EMAIL_ENTRY: &str = r#"  - id: "send_email"
    name: "Send email"
    version: "0.1.0"
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
fn fresh_file_holds_only_extensions_in_the_documented_layout() {
    let mut create_task = ext("create_task", false);
    create_task.name = "Create \"task\"".into();
    create_task.description = Some("Creates a task: in the tracker.".into());
    create_task.permissions = vec![
        Permission {
            permission: "customer_read".into(),
            purpose: "Reads the customer".into(),
        },
        Permission {
            permission: "invoice_write".into(),
            purpose: "Adds a line: \"task\"".into(),
        },
    ];
    let out = merge(None, &[ext("send_email", true), create_task.clone()]).unwrap();
    let expected = format!(
        "extensions:\n{SEND_EMAIL_ENTRY}{}",
        r#"  - id: "create_task"
    name: "Create \"task\""
    version: "0.1.0"
    description: "Creates a task: in the tracker."
    interface_id: extend.workflows.custom_action
    permissions:
      - permission: workflow_custom_action_run_write
        purpose: "Runs custom actions in workflows and accesses data from earlier workflow steps"
      - permission: customer_read
        purpose: "Reads the customer"
      - permission: invoice_write
        purpose: "Adds a line: \"task\""
    methods:
      execute:
        implementation_type: remote_function
        custom_input:
          input_schema:
            type: json_schema
            content: extensions/create_task/input_schema.json
          ui_schema:
            type: jsonforms
            content: extensions/create_task/ui_schema.json
"#
    );
    assert_eq!(out, expected);
    let read = entry(&out, "create_task");
    assert_eq!(read["description"], "Creates a task: in the tracker.");
    assert_eq!(read["permissions"][2]["purpose"], "Adds a line: \"task\"");
    assert_eq!(
        merge(Some(&out), &[ext("send_email", true), create_task]).unwrap(),
        out
    );
    assert_eq!(merge(None, &[]).unwrap(), "extensions: []\n");
}

const REALISTIC: &str = r#"# Stripe App manifest for the Mailer app.
# Edited by hand; `actionkit` manages the custom actions below.
id: com.example.mailer
version: 1.4.0
name: 'Mailer'            # shown in the Dashboard
icon: ./mailer_icon.png
permissions:
  - permission: customer_read
    purpose: "Reads customer emails"
ui_extension:
  views:
    - viewport: stripe.dashboard.customer.detail
      component: CustomerView
extensions:
  # Hand-written, another interface: must not be touched.
  - id: "invoice_footer"
    name: Invoice footer
    version: "1.0.0"
    interface_id: extend.invoicing.footer
    script:
      type: typescript
      content: extensions/invoice_footer/index.ts
  - id: "send_email"   # generated by actionkit
    name: "Send mail"      # renamed below
    version: "0.0.9"
    interface_id: extend.workflows.custom_action
    x_owner: growth-team   # a hand edit, replaced
    # The methods are generated too.
    methods:
      execute:
        implementation_type: remote_function
        custom_input:
          input_schema:
            type: json_schema
            content: extensions/send_email/old_input.json
          ui_schema: { type: jsonforms, content: extensions/send_email/ui_schema.json }
      get_form_state:
        implementation_type: remote_function

  # The end of the list.
post_install_action:
  type: external
  url: https://example.com/welcome
# end of manifest
"#;

#[test]
fn managed_entries_are_replaced_whole_and_the_rest_kept_byte_for_byte() {
    let out = merged(
        REALISTIC,
        &[ext("send_email", false), ext("create_task", true)],
    );
    let (head, rest) = REALISTIC.split_once("  - id: \"send_email\"").unwrap();
    let (_, tail) = rest
        .split_once("        implementation_type: remote_function\n\n")
        .unwrap();
    let entries = merge(None, &[ext("send_email", false), ext("create_task", true)]).unwrap();
    let entries = entries.strip_prefix("extensions:\n").unwrap();
    assert_eq!(out, format!("{head}{entries}\n{tail}"));
}

#[test]
fn unusual_item_layouts_are_replaced_whole() {
    for (existing, before, after) in [
        // The dash on a line of its own, keys further in.
        (
            "extensions:\n  -\n      id: send_email\n      x: 1\n  - id: other\n",
            "extensions:\n",
            "  - id: other\n",
        ),
        // Keys aligned after `-   `, and a literal block at the end.
        (
            "extensions:\n  -   id: send_email\n      tail: |\n        keep\n# after\n",
            "extensions:\n",
            "# after\n",
        ),
        // A flow mapping as the item, with a trailing comment; no final newline.
        (
            "extensions:\n- { id: send_email, name: x }  # ours",
            "extensions:\n",
            "",
        ),
    ] {
        let out = merged(existing, &[ext("send_email", true)]);
        let dash = if existing.contains("\n- ") { 0 } else { 2 };
        let entry = render::entry(&ext("send_email", true), dash, "\n");
        assert_eq!(out, format!("{before}{entry}{after}"), "from:\n{existing}");
    }
}

#[test]
fn new_entries_follow_the_last_item_and_empty_lists_are_filled() {
    let out = merged(
        "extensions:\n  - id: other   # theirs\n  # trailing comment\nafter: 1\n",
        &[ext("send_email", true)],
    );
    assert_eq!(
        out,
        format!(
            "extensions:\n  - id: other   # theirs\n{SEND_EMAIL_ENTRY}  # trailing comment\nafter: 1\n"
        )
    );
    for empty in [
        "extensions:\nafter: 1\n",
        "extensions: []  # none yet\nafter: 1\n",
        "extensions: ~\nafter: 1\n",
    ] {
        let out = merged(empty, &[ext("send_email", true)]);
        let comment = if empty.contains('#') {
            "  # none yet"
        } else {
            ""
        };
        assert_eq!(
            out,
            format!("extensions:{comment}\n{SEND_EMAIL_ENTRY}after: 1\n"),
            "from:\n{empty}"
        );
        // Nothing to write: nothing changes.
        assert_eq!(merge(Some(empty), &[]).unwrap(), empty);
    }
}

#[test]
fn a_file_without_extensions_gets_them_at_the_end_of_its_document() {
    let out = merged("id: app\nname: App", &[ext("send_email", true)]);
    assert_eq!(
        out,
        format!("id: app\nname: App\nextensions:\n{SEND_EMAIL_ENTRY}")
    );
    // The top level's indentation comes from its lines, not from a key after `? `.
    let out = merged("? a\n? b\nc:\n", &[ext("send_email", false)]);
    assert!(
        out.starts_with("? a\n? b\nc:\nextensions:\n  - id: \"send_email\"\n"),
        "{out}"
    );
    // An explicit document end stays last.
    let out = merged(
        "id: app\n...\n# after the document\n",
        &[ext("send_email", false)],
    );
    assert!(
        out.starts_with("id: app\nextensions:\n") && out.ends_with("\n...\n# after the document\n"),
        "{out}"
    );
    // Comments only: a fresh list after them.
    let out = merged("# soon\n", &[ext("send_email", true)]);
    assert_eq!(out, format!("# soon\nextensions:\n{SEND_EMAIL_ENTRY}"));
}

#[test]
fn layouts_it_cannot_edit_name_their_line() {
    let err = merge(
        Some("id: app\nextensions: [ { id: other } ]\n"),
        &[ext("send_email", false)],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot edit the manifest at line 2, column 13: `extensions` is a flow list `[ … ]`; write \
         it as a block list, one `- id: …` item per entry, so actionkit can replace its entries \
         whole"
    );
    let err = merge(Some("{ id: app }\n"), &[ext("send_email", false)]).unwrap_err();
    assert_eq!(err.position(), Some((1, 1)));
    assert!(err.to_string().contains("flow mapping"), "{err}");
    // Nothing to write there: no complaint.
    assert!(merge(Some("{ id: app, extensions: [ { id: x } ] }\n"), &[]).is_ok());
    // An anchor inside a replaced entry that an alias elsewhere refers to.
    let anchored = "extensions:\n  - id: send_email\n    methods: &m { execute: {} }\nother: *m\n";
    let err = merge(Some(anchored), &[ext("send_email", false)]).unwrap_err();
    assert!(
        matches!(err, ManifestError::Unsupported { line: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("move anchors"), "{err}");
}

#[test]
fn crlf_line_endings_are_kept() {
    let existing = "id: app\r\nextensions:\r\n  - id: send_email\r\n    x: 1\r\n  - id: other\r\n";
    let out = merged(existing, &[ext("send_email", true), ext("b", false)]);
    assert!(out.starts_with("id: app\r\nextensions:\r\n  - id: \"send_email\"\r\n"));
    assert!(
        out.contains("  - id: other\r\n  - id: \"b\"\r\n"),
        "{out:?}"
    );
    assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
}

#[test]
fn malformed_yaml_reports_line_column_and_fix() {
    let err = merge(Some("id: app\nname: Mailer: the app\n"), &[ext("a", false)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid YAML at line 2, column 13: mapping values are not allowed in this context; put quotes \
         around a value that contains `: `, or fix the indentation of this line"
    );
    assert_eq!(err.position(), Some((2, 13)));
    let err = merge(Some("extensions:\n\t- id: a\n"), &[]).unwrap_err();
    assert!(
        matches!(err, ManifestError::Syntax { line: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("indent with spaces"), "{err}");
    let err = merge(Some("extensions:\n  - id: a\n   name: b\n"), &[]).unwrap_err();
    assert_eq!(err.position(), Some((3, 4)), "{err}");
    let err = merge(Some("name: \"unclosed\nid: a\n"), &[]).unwrap_err();
    assert!(
        matches!(err, ManifestError::Syntax { line: 1, .. }),
        "{err}"
    );
}

#[test]
fn shapes_that_cannot_hold_extensions_are_clear_errors() {
    let err = merge(Some("id: a\nextensions:\n  send_email: {}\n"), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`extensions` at line 3, column 3 must be a list of `- id: …` entries, found a mapping; write \
         each extension as a `- ` item under `extensions:`"
    );
    let err = merge(Some("- id: a\n"), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the top level of the manifest (line 1, column 1) must be a mapping of keys such as `id:` and \
         `extensions:`, found a list"
    );
    let err = merge(Some("id: a\nid: b\n"), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "duplicate key `id` at line 2, column 1; keep only one of them"
    );
    let err = merge(Some("id: a\n---\nid: b\n"), &[]).unwrap_err();
    assert_eq!(err, ManifestError::MultipleDocuments { line: 2 });
    let twice = "extensions:\n  - id: send_email\n  - id: \"send_email\"\n";
    let err = merge(Some(twice), &[ext("send_email", false)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "extension `send_email` appears more than once in `extensions` (again at line 3, column 5); \
         remove the duplicate entry"
    );
    // Not ours: duplicates of other ids are none of our business.
    assert!(merge(Some(twice), &[ext("other", false)]).is_ok());
}

#[test]
fn invalid_extensions_are_rejected_before_reading() {
    type Breaker = fn(&mut StripeExtension);
    fn permission(name: &str, purpose: &str) -> Permission {
        Permission {
            permission: name.into(),
            purpose: purpose.into(),
        }
    }
    let cases: [(Breaker, &str); 9] = [
        (|e| e.id = "send email".into(), "the id must match"),
        (|e| e.version = "1.0".into(), "version `1.0` is not semver"),
        (|e| e.version = "01.0.0".into(), "is not semver"),
        (|e| e.name = " ".into(), "the name is empty"),
        (
            |e| e.description = Some(String::new()),
            "the description is empty",
        ),
        (
            |e| e.ui_schema_path = String::new(),
            "`ui_schema_path` is empty",
        ),
        (
            |e| e.permissions = vec![permission("Customer Read", "x")],
            "permission `Customer Read` is not a Stripe permission name",
        ),
        (
            |e| e.permissions = vec![permission("workflow_custom_action_run_write", "x")],
            "is declared twice",
        ),
        (
            |e| e.permissions = vec![permission("customer_read", " ")],
            "permission `customer_read` has an empty purpose",
        ),
    ];
    for (break_it, message) in cases {
        let mut bad = ext("send_email", false);
        break_it(&mut bad);
        let err = merge(Some("not: [valid"), &[bad]).unwrap_err();
        assert!(
            matches!(err, ManifestError::InvalidExtension { .. }),
            "{err}"
        );
        assert!(err.to_string().contains(message), "{err}");
    }
    let err = merge(None, &[ext("a", false), ext("a", true)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "extension `a`: the id is given twice; pass each extension once"
    );
}

#[test]
fn scalars_round_trip_through_quoting() {
    for text in [
        "plain/path.json",
        "yes",
        "1.0",
        "a: b",
        "#x",
        "tab\there",
        "quote \" and \\",
        "-",
        "",
        "é ü",
    ] {
        for written in [render::plain_or_quoted(text), render::double_quoted(text)] {
            let src = format!("k: {written}\n");
            assert_eq!(to_json(&src)["k"], text, "{src}");
        }
    }
}

// Property: whatever mix of pieces a manifest is made of, merging succeeds, writes whole
// entries, keeps everything else byte for byte and is idempotent.

const HEADERS: [&str; 4] = [
    "",
    "# manifest\nid: com.example.app\nversion: 0.0.1\n",
    "id: com.example.app  # app\nname: \"App\"\npermissions:\n  - permission: customer_read\n    purpose: Reads\n",
    "ui_extension:\n  views: []\npost_install_action: { type: external, url: \"https://x.test\" }\n",
];

const FOREIGN: &str = "  - id: \"other\"   # not ours\n    interface_id: extend.invoicing.footer\n    methods: { execute: { implementation_type: script } }\n";

const OURS: [&str; 5] = [
    "  - id: send_email\n    name: Old    # c\n    custom: 1\n",
    "  - id: \"send_email\"\n    name: \"Send mail\"\n    version: \"0.0.1\"\n    permissions:\n      - permission: customer_read\n        purpose: \"x\"\n    methods:\n      get_form_state:   # dynamic\n        implementation_type: remote_function\n",
    "  - id: send_email\n    methods: []\n    permissions: ~\n    version: 1\n",
    "  - { id: send_email, name: x, methods: { execute: { implementation_type: script } } }\n",
    "  -   id: send_email\n      methods:\n        get_form_state:\n          implementation_type: script\n      tail: |\n        keep\n",
];

fn manifest(header: usize, list: usize, ours: usize, trailer: usize) -> String {
    let mut out = HEADERS[header].to_owned();
    match list {
        0 => {}
        1 => out.push_str("extensions:\n"),
        2 => out.push_str("extensions: []  # empty\n"),
        3 => out.push_str(&format!("extensions:\n{FOREIGN}")),
        _ => out.push_str(&format!("extensions:\n{FOREIGN}  # ours:\n{}", OURS[ours])),
    }
    match trailer {
        0 => {}
        1 => out.push_str("post: 1\n# the end\n"),
        _ => out.push_str("# the end"),
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn merge_is_faithful_and_idempotent(
        header in 0..HEADERS.len(),
        list in 0usize..5,
        ours in 0..OURS.len(),
        trailer in 0usize..3,
        send_email in proptest::option::of(any::<bool>()),
        create_task in proptest::option::of(any::<bool>()),
        version in (0u8..3, 0u8..20, 0u8..20),
    ) {
        let existing = manifest(header, list, ours, trailer);
        let mut exts = Vec::new();
        for (id, form_state) in [("send_email", send_email), ("create_task", create_task)] {
            if let Some(form_state) = form_state {
                let mut e = ext(id, form_state);
                e.version = format!("{}.{}.{}", version.0, version.1, version.2);
                exts.push(e);
            }
        }
        let out = merged(&existing, &exts);
        // The header is kept byte for byte, and so is what follows the list.
        prop_assert!(out.starts_with(HEADERS[header]));
        let trailer_text = &existing[manifest(header, list, ours, 0).len()..];
        prop_assert!(out.contains(trailer_text));
        // Entries not ours are unchanged, byte for byte.
        if list >= 3 {
            prop_assert!(out.contains(FOREIGN));
        }
        // An existing entry of ours with no extension for it stays as it was.
        if list == 4 && send_email.is_none() {
            prop_assert!(out.contains(OURS[ours]));
        }
        // Comments outside the entries survive.
        for line in existing.lines().filter(|l| l.trim_start().starts_with('#')) {
            prop_assert!(out.contains(line), "lost {:?}", line);
        }
    }
}
