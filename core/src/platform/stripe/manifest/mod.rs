//! Writes Stripe custom-action extension entries into a `stripe-app.yaml`, in place.
//!
//! [`merge`] takes the manifest as it is (or nothing) and the extensions to declare, and returns
//! the new text. actionkit owns **whole entries**: an item of `extensions` whose `id` is one of
//! the actions is replaced by the entry actionkit renders, from its `- ` to its last line;
//! an action without an entry gets one appended. Everything outside those entries — other
//! top-level keys, other extensions, comments between entries, key order, quoting, blank lines
//! and line endings — comes out byte for byte as it went in. The output is deterministic and
//! merging twice changes nothing, so `export --check` can compare bytes.
//!
//! What a user would add to an entry is declared on the action instead of written by hand:
//! further permissions with `#[action(permission(name = "customer_read", purpose = "…"))]`
//! (they follow `workflow_custom_action_run_write` in `permissions`) and a `description` with
//! `#[action(description = "…")]` or the struct's doc comment. A hand edit inside an entry is
//! replaced by the next export, and `export --check` shows it in its diff.
//!
//! ```
//! use actionkit_core::platform::stripe::manifest::{Permission, StripeExtension, merge};
//!
//! let manifest = "\
//! id: com.example.mailer # my app
//! version: 1.0.0
//! extensions:
//!   - id: \"send_email\"
//!     name: 'Old'
//!   - id: invoice_footer # by hand
//!     interface_id: extend.invoicing.footer
//! ";
//! let ext = StripeExtension {
//!     id: "send_email".into(),
//!     name: "Send email".into(),
//!     version: "0.1.0".into(),
//!     description: None,
//!     permissions: vec![Permission {
//!         permission: "customer_read".into(),
//!         purpose: "Reads the customer's email address".into(),
//!     }],
//!     input_schema_path: "extensions/send_email/input_schema.json".into(),
//!     ui_schema_path: "extensions/send_email/ui_schema.json".into(),
//!     form_state: false,
//! };
//! let merged = merge(Some(manifest), &[ext.clone()])?;
//! assert!(merged.starts_with("id: com.example.mailer # my app\nversion: 1.0.0\n"));
//! assert!(merged.contains("  - id: \"send_email\"\n    name: \"Send email\"\n"));
//! assert!(merged.contains("      - permission: customer_read\n"));
//! assert!(merged.ends_with("  - id: invoice_footer # by hand\n    interface_id: extend.invoicing.footer\n"));
//! assert_eq!(merge(Some(&merged), &[ext])?, merged);
//! # Ok::<(), actionkit_core::platform::stripe::manifest::ManifestError>(())
//! ```
//!
//! # How the file is read
//!
//! `serde_yaml` is deprecated and drops comments, and the maintained format-preserving editor
//! (`yaml-edit`) accepts malformed input silently, so it cannot point at the line to fix. The
//! file is parsed with `saphyr-parser` — the maintained YAML 1.2 parser of the yaml-rust line,
//! which rejects malformed input with a position and reports the span of every event — into a
//! small tree of nodes with byte ranges; entries are then spliced into the original text.
//! Nothing outside the replaced entries is re-serialised.
//!
//! # Layouts it does not edit
//!
//! Each is an [`ManifestError::Unsupported`] naming the line, and only when something must be
//! written there: a top level or an `extensions` list written in flow style (`{ … }`, `[ … ]`,
//! except an empty `[]`), and an entry whose replacement would leave the file invalid (an
//! anchor inside it that an alias elsewhere refers to). One YAML document per file; duplicate
//! keys anywhere, and two entries with an id being written, are errors rather than guesses.
//! Comments *inside* a managed entry are not kept (a comment on the lines between entries is).

mod error;
mod render;
mod tree;

pub use error::ManifestError;
use tree::{Kind, Node, Tree};

/// The interface every entry declares.
const INTERFACE_ID: &str = "extend.workflows.custom_action";
/// The permission a custom action needs to run.
const PERMISSION: &str = "workflow_custom_action_run_write";
/// The purpose Stripe shows for [`PERMISSION`].
const PURPOSE: &str =
    "Runs custom actions in workflows and accesses data from earlier workflow steps";
/// How remote-function methods are implemented.
const REMOTE_FUNCTION: &str = "remote_function";

/// One custom-action extension entry to write into `stripe-app.yaml`.
///
/// ```
/// use actionkit_core::platform::stripe::manifest::{StripeExtension, merge};
///
/// let ext = StripeExtension {
///     id: "send_email".into(),
///     name: "Send email".into(),
///     version: "0.1.0".into(),
///     description: Some("Sends an email to a mailing list.".into()),
///     permissions: Vec::new(),
///     input_schema_path: "extensions/send_email/input_schema.json".into(),
///     ui_schema_path: "extensions/send_email/ui_schema.json".into(),
///     form_state: true,
/// };
/// let manifest = merge(None, &[ext])?;
/// assert!(manifest.contains("    description: \"Sends an email to a mailing list.\"\n"));
/// assert!(manifest.contains("      get_form_state:\n        implementation_type: remote_function\n"));
/// # Ok::<(), actionkit_core::platform::stripe::manifest::ManifestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeExtension {
    /// Extension id, matching `^[a-zA-Z0-9_\-\.]+$`, e.g. `send_email`.
    pub id: String,
    /// Display name, e.g. `Send email`.
    pub name: String,
    /// Semantic version, e.g. `0.1.0`.
    pub version: String,
    /// What the action does, written as the entry's `description` when given.
    pub description: Option<String>,
    /// Permissions the entry requests besides `workflow_custom_action_run_write`, in order.
    pub permissions: Vec<Permission>,
    /// Path of the input schema (JSON Schema), relative to the app, e.g.
    /// `extensions/send_email/input_schema.json`.
    pub input_schema_path: String,
    /// Path of the UI schema (JSONForms), relative to the app, e.g.
    /// `extensions/send_email/ui_schema.json`.
    pub ui_schema_path: String,
    /// Whether to declare `methods.get_form_state` (the action computes its form dynamically).
    pub form_state: bool,
}

/// A further item of an entry's `permissions`.
///
/// ```
/// use actionkit_core::platform::stripe::manifest::Permission;
///
/// let read = Permission {
///     permission: "customer_read".into(),
///     purpose: "Reads the customer's email address".into(),
/// };
/// assert_eq!(read.permission, "customer_read");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// Stripe's permission name, e.g. `customer_read`.
    pub permission: String,
    /// Why the action needs it, shown to whoever installs the app.
    pub purpose: String,
}

/// Merges `extensions` into the manifest text `existing` and returns the new text.
///
/// With `existing = None` the result is a minimal file holding only `extensions:`; the app's own
/// `id`, `version`, `name` and so on are the user's to add (Stripe's `stripe apps create`
/// writes them), and are never invented here. With an existing file:
///
/// - an item of `extensions` whose `id` matches is replaced whole by the entry below;
/// - items with other ids, and everything outside `extensions`, are left untouched;
/// - an id not yet present is appended after the last item of `extensions`, in the order given;
///   a missing `extensions` key is created at the end of the file (an empty, `[]` or `null` one
///   is filled in).
///
/// An entry is written exactly like this, its `-` at the column of the list's other items
/// (`description` only when given; further permissions after the first; `get_form_state` only
/// with `form_state`):
///
/// ```yaml
/// extensions:
///   - id: "send_email"
///     name: "Send email"
///     version: "0.1.0"
///     interface_id: extend.workflows.custom_action
///     permissions:
///       - permission: workflow_custom_action_run_write
///         purpose: "Runs custom actions in workflows and accesses data from earlier workflow steps"
///     methods:
///       execute:
///         implementation_type: remote_function
///         custom_input:
///           input_schema:
///             type: json_schema
///             content: extensions/send_email/input_schema.json
///           ui_schema:
///             type: jsonforms
///             content: extensions/send_email/ui_schema.json
///       get_form_state:
///         implementation_type: remote_function
/// ```
///
/// # Errors
///
/// [`ManifestError::InvalidExtension`] for an id that does not match `^[a-zA-Z0-9_\-\.]+$`, a
/// version that is not semver, an empty name, description, path or purpose, a permission name
/// that is not `snake_case`, or an id or permission given twice;
/// [`ManifestError::Syntax`] (with line and column) when `existing` is not valid YAML,
/// [`ManifestError::Unsupported`] for a layout listed in the [module docs](self), and the other
/// variants for a file whose shape cannot hold extensions (top level not a mapping, `extensions`
/// not a list, duplicate keys or entries, several documents).
///
/// ```
/// use actionkit_core::platform::stripe::manifest::{ManifestError, StripeExtension, merge};
///
/// let ext = StripeExtension {
///     id: "send_email".into(),
///     name: "Send email".into(),
///     version: "0.1.0".into(),
///     description: None,
///     permissions: Vec::new(),
///     input_schema_path: "extensions/send_email/input_schema.json".into(),
///     ui_schema_path: "extensions/send_email/ui_schema.json".into(),
///     form_state: false,
/// };
/// let manifest = merge(None, &[ext.clone()])?;
/// assert_eq!(
///     manifest,
///     r#"extensions:
///   - id: "send_email"
///     name: "Send email"
///     version: "0.1.0"
///     interface_id: extend.workflows.custom_action
///     permissions:
///       - permission: workflow_custom_action_run_write
///         purpose: "Runs custom actions in workflows and accesses data from earlier workflow steps"
///     methods:
///       execute:
///         implementation_type: remote_function
///         custom_input:
///           input_schema:
///             type: json_schema
///             content: extensions/send_email/input_schema.json
///           ui_schema:
///             type: jsonforms
///             content: extensions/send_email/ui_schema.json
/// "#
/// );
/// // Idempotent: a `--check` mode compares bytes.
/// assert_eq!(merge(Some(&manifest), &[ext.clone()])?, manifest);
///
/// let err = merge(Some("extensions: [ { id: other } ]\n"), &[ext]).unwrap_err();
/// assert!(matches!(err, ManifestError::Unsupported { line: 1, column: 13, .. }));
///
/// let err = merge(Some("extensions:\n  - id: \"x\n"), &[]).unwrap_err();
/// assert_eq!(err.position(), Some((2, 9)));
/// # Ok::<(), actionkit_core::platform::stripe::manifest::ManifestError>(())
/// ```
pub fn merge(
    existing: Option<&str>,
    extensions: &[StripeExtension],
) -> Result<String, ManifestError> {
    validate(extensions)?;
    let src = existing.unwrap_or("");
    let (root, document_end) = Tree::parse(src)?;
    let mut edits = Splicer::new(src, document_end);
    let replaced = match &root {
        Some(root) if !root.is_empty_scalar() => merge_root(&mut edits, root, extensions)?,
        // Nothing there yet (no file, an empty one, comments only, or a bare `---`).
        _ if extensions.is_empty() && existing.is_some() => Vec::new(),
        _ => {
            let text = extensions_key(extensions, 0, edits.nl);
            edits.append_to_document(text);
            Vec::new()
        }
    };
    let out = edits.apply();
    // A replaced entry can take an anchor with it that an alias elsewhere still names.
    if let Err(error) = Tree::parse(&out) {
        let entry = replaced.first().copied().unwrap_or((1, 1));
        return Err(ManifestError::Unsupported {
            line: entry.0,
            column: entry.1,
            problem: format!(
                "replacing this entry whole would leave the manifest invalid ({error}); move \
                 anchors (`&name`) that other parts of the file refer to out of the entry"
            ),
        });
    }
    Ok(out)
}

/// Rejects extensions that would produce a manifest Stripe refuses.
fn validate(extensions: &[StripeExtension]) -> Result<(), ManifestError> {
    for (index, ext) in extensions.iter().enumerate() {
        let invalid = |problem: String| {
            Err(ManifestError::InvalidExtension {
                id: ext.id.clone(),
                problem,
            })
        };
        let id_ok = !ext.id.is_empty()
            && ext
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !id_ok {
            return invalid(
                "the id must match `^[a-zA-Z0-9_\\-\\.]+$`; use only ASCII letters, digits, `_`, `-` \
                 and `.`"
                    .into(),
            );
        }
        if extensions[..index]
            .iter()
            .any(|earlier| earlier.id == ext.id)
        {
            return invalid("the id is given twice; pass each extension once".into());
        }
        if ext.name.trim().is_empty() {
            return invalid("the name is empty; give the action a display name".into());
        }
        if semver::Version::parse(&ext.version).is_err() {
            return invalid(format!(
                "version `{}` is not semver; write it as `MAJOR.MINOR.PATCH`, e.g. `0.1.0`",
                ext.version
            ));
        }
        if ext
            .description
            .as_ref()
            .is_some_and(|d| d.trim().is_empty())
        {
            return invalid("the description is empty; give one or leave it out".into());
        }
        for (what, path) in [
            ("input_schema_path", &ext.input_schema_path),
            ("ui_schema_path", &ext.ui_schema_path),
        ] {
            if path.trim().is_empty() {
                return invalid(format!(
                    "`{what}` is empty; give the path of the schema file"
                ));
            }
        }
        for (index, p) in ext.permissions.iter().enumerate() {
            let name_ok = !p.permission.is_empty()
                && p.permission
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !name_ok {
                return invalid(format!(
                    "permission `{}` is not a Stripe permission name; write it in snake_case, \
                     e.g. `customer_read`",
                    p.permission
                ));
            }
            if p.permission == PERMISSION
                || ext.permissions[..index]
                    .iter()
                    .any(|earlier| earlier.permission == p.permission)
            {
                return invalid(format!(
                    "permission `{}` is declared twice (`{PERMISSION}` is always there); \
                     remove the repeat",
                    p.permission
                ));
            }
            if p.purpose.trim().is_empty() {
                return invalid(format!(
                    "permission `{}` has an empty purpose; say why the action needs it",
                    p.permission
                ));
            }
        }
    }
    Ok(())
}

/// Writes the entries into the top-level mapping `root`; returns the `(line, column)` of each
/// entry it replaced.
fn merge_root(
    edits: &mut Splicer<'_>,
    root: &Node,
    extensions: &[StripeExtension],
) -> Result<Vec<(usize, usize)>, ManifestError> {
    let Kind::Map { flow, entries } = &root.kind else {
        return Err(ManifestError::NotAMapping {
            line: root.line,
            column: root.column,
            found: root.describe(),
        });
    };
    let Some(entry) = root.get("extensions") else {
        if extensions.is_empty() {
            return Ok(Vec::new());
        }
        if *flow {
            return Err(flow_top_level(root));
        }
        // The indentation of the first key's line (the top level may start after `? `).
        let indent = entries.first().map_or(0, |e| {
            let line = &edits.src[edits.line_start(e.key.start)..];
            line.len() - line.trim_start_matches(' ').len()
        });
        let text = extensions_key(extensions, indent, edits.nl);
        edits.append_to_document(text);
        return Ok(Vec::new());
    };
    let list = &entry.value;
    match &list.kind {
        Kind::Seq { flow: false, items } => merge_items(edits, list, items, extensions),
        // `[]`, `~`, `null` or nothing at all: filled in when there is something to write.
        Kind::Seq { items, .. } if items.is_empty() => {
            fill_empty(edits, root, entry, extensions, *flow)
        }
        Kind::Scalar { .. } if list.is_null() => fill_empty(edits, root, entry, extensions, *flow),
        Kind::Seq { .. } if extensions.is_empty() => Ok(Vec::new()),
        Kind::Seq { .. } => Err(Splicer::unsupported(
            list,
            "`extensions` is a flow list `[ … ]`; write it as a block list, one `- id: …` item \
             per entry, so actionkit can replace its entries whole",
        )),
        _ => Err(ManifestError::ExtensionsNotASequence {
            line: list.line,
            column: list.column,
            found: list.describe(),
        }),
    }
}

/// A top level written as one flow mapping, which entries cannot be written into.
fn flow_top_level(root: &Node) -> ManifestError {
    Splicer::unsupported(
        root,
        "the manifest's top level is one flow mapping `{ … }`; write it as `key: value` lines \
         so extension entries can be written into it",
    )
}

/// Replaces the value of an empty `extensions:` (`[]`, `~`, nothing) with the entries.
fn fill_empty(
    edits: &mut Splicer<'_>,
    root: &Node,
    entry: &tree::Entry,
    extensions: &[StripeExtension],
    flow_top: bool,
) -> Result<Vec<(usize, usize)>, ManifestError> {
    if extensions.is_empty() {
        return Ok(Vec::new());
    }
    if flow_top {
        return Err(flow_top_level(root));
    }
    let key = &entry.key;
    let value = &entry.value;
    edits.replace(entry.colon_end.unwrap_or(key.end), value.end, String::new());
    let dash = key.column - 1 + 2;
    let text: String = extensions
        .iter()
        .map(|ext| render::entry(ext, dash, edits.nl))
        .collect();
    edits.insert_lines_after(value.end.max(key.end), text);
    Ok(Vec::new())
}

/// Replaces the items of the block list `list` whose id is being written, and appends the
/// extensions that have none.
fn merge_items(
    edits: &mut Splicer<'_>,
    list: &Node,
    items: &[Node],
    extensions: &[StripeExtension],
) -> Result<Vec<(usize, usize)>, ManifestError> {
    // Every item's `-` is in the column of the first one's.
    let dash = items
        .first()
        .map_or(0, |first| edits.dash_column(first.start));
    let mut found: Vec<Option<&Node>> = vec![None; extensions.len()];
    for item in items {
        let Some(id) = item.get("id").and_then(|entry| entry.value.text()) else {
            continue;
        };
        let Some(index) = extensions.iter().position(|ext| ext.id == id) else {
            continue;
        };
        if found[index].replace(item).is_some() {
            return Err(ManifestError::DuplicateEntry {
                id: id.to_owned(),
                line: item.line,
                column: item.column,
            });
        }
    }
    let mut replaced = Vec::new();
    let mut appended = String::new();
    for (ext, item) in extensions.iter().zip(found) {
        let text = render::entry(ext, dash, edits.nl);
        match item {
            Some(item) => {
                let start = edits.dash_line(item.start, dash);
                let end = edits.next_line(item.end.max(item.start + 1) - 1);
                edits.replace(start, end, text);
                replaced.push((item.line, item.column));
            }
            None => appended.push_str(&text),
        }
    }
    if !appended.is_empty() {
        let last = items.last().map_or(list.end, |item| item.end);
        edits.insert_lines_after(last.max(1) - 1, appended);
    }
    Ok(replaced)
}

/// `extensions:` at `indent` with the entries below it, for the end of a file.
fn extensions_key(extensions: &[StripeExtension], indent: usize, nl: &str) -> String {
    let pad = " ".repeat(indent);
    if extensions.is_empty() {
        return format!("{pad}extensions: []{nl}");
    }
    let mut out = format!("{pad}extensions:{nl}");
    for ext in extensions {
        out.push_str(&render::entry(ext, indent + 2, nl));
    }
    out
}

/// Replacements of byte ranges of the source, applied all at once.
struct Splicer<'s> {
    src: &'s str,
    /// The line ending of new lines: the file's.
    nl: &'static str,
    /// `(start, end, text)`; insertions have `start == end`.
    edits: Vec<(usize, usize, String)>,
    /// Where text appended to the document goes: before an explicit end marker `...`, which
    /// starts a line, or else at the end of the file.
    document_end: usize,
}

impl<'s> Splicer<'s> {
    fn new(src: &'s str, document_end: Option<usize>) -> Self {
        let nl = if src.contains("\r\n") { "\r\n" } else { "\n" };
        Splicer {
            src,
            nl,
            edits: Vec::new(),
            document_end: document_end.unwrap_or(src.len()),
        }
    }

    fn replace(&mut self, start: usize, end: usize, text: String) {
        self.edits.push((start, end, text));
    }

    fn line_start(&self, pos: usize) -> usize {
        self.src[..pos].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The start of the line after the one holding `pos` (the end of the file on the last line).
    fn next_line(&self, pos: usize) -> usize {
        self.src[pos..]
            .find('\n')
            .map_or(self.src.len(), |i| pos + i + 1)
    }

    /// The column of the `-` of the block-list item starting at `pos`: the last line up to
    /// that of `pos` that starts with `- ` (or a lone `-`). A list under a key may start at the
    /// key's own column, and the parser places such a list at its first item, not its dash.
    fn dash_column(&self, pos: usize) -> usize {
        let mut line = self.line_start(pos);
        loop {
            let text = &self.src[line..self.next_line(line).max(line)];
            let rest = text.trim_start_matches(' ');
            if rest.starts_with("- ") || rest.trim_end() == "-" || line == 0 {
                return text.len() - rest.len();
            }
            line = self.line_start(line - 1);
        }
    }

    /// The start of the line holding the `-` (in column `dash`) of the item starting at `pos`:
    /// that line, or an earlier one for an item written below its dash (`-\n    id: …`).
    fn dash_line(&self, pos: usize, dash: usize) -> usize {
        let mut line = self.line_start(pos);
        loop {
            let text = &self.src.as_bytes()[line..];
            let is_dash =
                text.len() > dash && text[..dash].iter().all(|&b| b == b' ') && text[dash] == b'-';
            if is_dash || line == 0 {
                return line;
            }
            line = self.line_start(line - 1);
        }
    }

    /// Inserts whole lines after the line holding `pos`.
    fn insert_lines_after(&mut self, pos: usize, lines: String) {
        let at = self.next_line(pos);
        self.insert_lines_at(at, lines);
    }

    fn append_to_document(&mut self, lines: String) {
        self.insert_lines_at(self.document_end, lines);
    }

    /// Inserts whole lines at a line start, or at the end of a file whose last line has no line
    /// ending (which then gets one first, unless a replacement already ends there with one).
    fn insert_lines_at(&mut self, at: usize, lines: String) {
        let unterminated =
            at == self.src.len() && !self.src.is_empty() && !self.src.ends_with('\n');
        let terminated_by_edit = self
            .edits
            .iter()
            .any(|(_, end, text)| *end == at && text.ends_with('\n'));
        let lines = if unterminated && !terminated_by_edit {
            format!("{}{lines}", self.nl)
        } else {
            lines
        };
        self.edits.push((at, at, lines));
    }

    fn apply(mut self) -> String {
        // Replacements before insertions at the same byte (a replaced last item, then the
        // items appended after it); otherwise in push order.
        self.edits.sort_by_key(|(start, _, _)| *start);
        let mut out = String::with_capacity(self.src.len() + 1024);
        let mut cursor = 0;
        for (start, end, text) in self.edits {
            debug_assert!(start >= cursor, "overlapping edits");
            out.push_str(&self.src[cursor..start.max(cursor)]);
            out.push_str(&text);
            cursor = cursor.max(end);
        }
        out.push_str(&self.src[cursor..]);
        out
    }

    fn unsupported(node: &Node, problem: &str) -> ManifestError {
        ManifestError::Unsupported {
            line: node.line,
            column: node.column,
            problem: problem.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
