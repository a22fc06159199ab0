//! Merges Stripe custom-action extension entries into a `stripe-app.yaml`, in place.
//!
//! [`merge`] takes the manifest as it is (or nothing) and the extensions to declare, and
//! returns the new text. Only the *managed* keys of each entry whose `id` matches are written:
//! `name`, `version`, `interface_id`, the `workflow_custom_action_run_write` permission and
//! `methods.execute` / `methods.get_form_state`. Everything else — other top-level keys, other
//! extensions, keys the user added inside our entries, comments, key order, quoting, blank lines
//! and line endings — comes out byte for byte as it went in. The output is deterministic and
//! merging twice changes nothing, so a `--check` mode can compare bytes.
//!
//! ```
//! use actionkit_core::platform::stripe::manifest::{StripeExtension, merge};
//!
//! let manifest = "\
//! id: com.example.mailer # my app
//! version: 1.0.0
//! extensions:
//!   - id: \"send_email\"
//!     name: 'Old'
//!     owner: growth # kept
//! ";
//! let ext = StripeExtension {
//!     id: "send_email".into(),
//!     name: "Send email".into(),
//!     version: "0.1.0".into(),
//!     input_schema_path: "extensions/send_email/input_schema.json".into(),
//!     ui_schema_path: "extensions/send_email/ui_schema.json".into(),
//!     form_state: false,
//! };
//! let merged = merge(Some(manifest), &[ext.clone()])?;
//! assert!(merged.starts_with("id: com.example.mailer # my app\nversion: 1.0.0\n"));
//! assert!(merged.contains("    name: \"Send email\"\n    version: \"0.1.0\"\n"));
//! assert!(merged.contains("    owner: growth # kept\n"));
//! assert_eq!(merge(Some(&merged), &[ext])?, merged);
//! # Ok::<(), actionkit_core::platform::stripe::manifest::ManifestError>(())
//! ```
//!
//! # Why a parser with positions, not a YAML editing crate
//!
//! `serde_yaml` is deprecated and drops comments. The maintained format-preserving editor,
//! `yaml-edit` 0.3, keeps untouched text intact, but it accepts malformed input silently
//! (`a: b: c`, tab indentation), so it cannot point at the line and column to fix, and the
//! layout of the collections it inserts is heuristic (zero-indented `- ` under a new key,
//! flow style when appending to `[]`), so the documented entry layout could not be promised.
//! This module therefore parses with `saphyr-parser` — the maintained YAML 1.2 parser of the
//! yaml-rust line, which passes the YAML test suite, rejects malformed input with a position
//! and reports the span of every event — builds a small tree of nodes with byte ranges from those events, and splices
//! replacement text into the original string: a changed scalar replaces exactly its own bytes,
//! a missing key is inserted as whole lines after its managed predecessor, a removed key takes
//! its own lines with it. Nothing is re-serialised.
//!
//! # Layout of what is written
//!
//! A new entry is written in the order and layout shown on [`merge`], two spaces per level,
//! with `id`, `name`, `version` and `purpose` double-quoted and other values plain unless they
//! need quotes. Inside an existing entry, a value that already reads as the wanted string is
//! left exactly as written (a plain `name: Send email` stays plain); a missing managed key is
//! inserted right after the closest managed key before it in the order above that is present
//! (else above the closest one after it, else at the end of the mapping), at that key's
//! indentation; inside a flow mapping (`{ type: jsonforms, content: … }`) edits stay in flow
//! style. New lines use the file's line ending (`\r\n` when the file has any). Entries are
//! matched on the text of `id`, however it is quoted.
//!
//! # Limitations
//!
//! - One YAML document per file; anchors, aliases and tags on managed values are replaced, not
//!   followed (an alias standing for a managed value is overwritten with the value itself).
//! - A comment on the line of a managed key whose value changes shape (say `methods: []` that
//!   becomes a mapping) ends up after the new value's last line.
//! - Removing `get_form_state` removes its lines; a comment on the line above it stays, and
//!   keys inserted later go right after the previous key's last line, so above such a comment.
//! - A plain value that a YAML 1.1 reader could take for a number, boolean or null (such as
//!   `version: 0.1.0`) counts as different and is rewritten once, quoted.
//! - Duplicate keys anywhere, and two entries with an id being written, are errors rather than
//!   guesses.

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span};

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
///     input_schema_path: "extensions/send_email/input_schema.json".into(),
///     ui_schema_path: "extensions/send_email/ui_schema.json".into(),
///     form_state: true,
/// };
/// let manifest = merge(None, &[ext])?;
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
    /// Path of the input schema (JSON Schema), relative to the app, e.g.
    /// `extensions/send_email/input_schema.json`.
    pub input_schema_path: String,
    /// Path of the UI schema (JSONForms), relative to the app, e.g.
    /// `extensions/send_email/ui_schema.json`.
    pub ui_schema_path: String,
    /// Whether to declare `methods.get_form_state` (the action computes its form dynamically).
    pub form_state: bool,
}

/// Why [`merge`] could not produce a manifest.
///
/// Positions are 1-based lines and columns (columns count characters). The message names what
/// to fix:
///
/// ```
/// use actionkit_core::platform::stripe::manifest::{ManifestError, merge};
///
/// let err = merge(Some("id: com.example.app\nextensions: send_email\n"), &[]).unwrap_err();
/// assert!(matches!(err, ManifestError::ExtensionsNotASequence { line: 2, column: 13, .. }));
/// assert_eq!(err.position(), Some((2, 13)));
/// assert_eq!(
///     err.to_string(),
///     "`extensions` at line 2, column 13 must be a list of `- id: …` entries, found the value \
///      `send_email`; write each extension as a `- ` item under `extensions:`",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The existing file is not valid YAML.
    #[error("invalid YAML at line {line}, column {column}: {problem}; {}", syntax_hint(.problem))]
    Syntax {
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// What the parser found wrong.
        problem: String,
    },
    /// A mapping in the file holds the same key twice.
    #[error("duplicate key `{key}` at line {line}, column {column}; keep only one of them")]
    DuplicateKey {
        /// The repeated key.
        key: String,
        /// Line of the second occurrence.
        line: usize,
        /// Column of the second occurrence.
        column: usize,
    },
    /// The file holds more than one YAML document.
    #[error(
        "the manifest holds more than one YAML document (another starts at line {line}); keep \
         only the app manifest in `stripe-app.yaml`"
    )]
    MultipleDocuments {
        /// Line where the second document starts.
        line: usize,
    },
    /// The top level of the file is not a mapping.
    #[error(
        "the top level of the manifest (line {line}, column {column}) must be a mapping of keys \
         such as `id:` and `extensions:`, found {found}"
    )]
    NotAMapping {
        /// Line of the top-level value.
        line: usize,
        /// Column of the top-level value.
        column: usize,
        /// What was found instead.
        found: String,
    },
    /// `extensions` holds something other than a list.
    #[error(
        "`extensions` at line {line}, column {column} must be a list of `- id: …` entries, found \
         {found}; write each extension as a `- ` item under `extensions:`"
    )]
    ExtensionsNotASequence {
        /// Line of the value of `extensions`.
        line: usize,
        /// Column of the value of `extensions`.
        column: usize,
        /// What was found instead.
        found: String,
    },
    /// Several entries of `extensions` carry an id being written, so which one to update is
    /// ambiguous.
    #[error(
        "extension `{id}` appears more than once in `extensions` (again at line {line}, column \
         {column}); remove the duplicate entry"
    )]
    DuplicateEntry {
        /// The repeated id.
        id: String,
        /// Line of the second entry.
        line: usize,
        /// Column of the second entry.
        column: usize,
    },
    /// An extension passed to [`merge`] is invalid; nothing was read or written.
    #[error("extension `{id}`: {problem}")]
    InvalidExtension {
        /// The extension's id, as given.
        id: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A managed value is written in a way this module does not edit.
    #[error("cannot edit the manifest at line {line}, column {column}: {problem}")]
    Unsupported {
        /// Line of the value.
        line: usize,
        /// Column of the value.
        column: usize,
        /// What is unsupported and how to rewrite it.
        problem: String,
    },
}

impl ManifestError {
    /// The `(line, column)` the error points at in the existing file, if it points anywhere.
    ///
    /// ```
    /// use actionkit_core::platform::stripe::manifest::merge;
    ///
    /// let err = merge(Some("id: app\nname: a: b\n"), &[]).unwrap_err();
    /// assert_eq!(err.position(), Some((2, 8)));
    /// ```
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            Self::Syntax { line, column, .. }
            | Self::DuplicateKey { line, column, .. }
            | Self::NotAMapping { line, column, .. }
            | Self::ExtensionsNotASequence { line, column, .. }
            | Self::DuplicateEntry { line, column, .. }
            | Self::Unsupported { line, column, .. } => Some((*line, *column)),
            Self::MultipleDocuments { line } => Some((*line, 1)),
            Self::InvalidExtension { .. } => None,
        }
    }

    fn syntax(error: &ScanError) -> Self {
        let marker = error.marker();
        Self::Syntax {
            line: marker.line(),
            column: marker.col() + 1,
            problem: error.info().to_owned(),
        }
    }
}

/// What to do about the parser's complaint, in the user's terms.
fn syntax_hint(problem: &str) -> &'static str {
    if problem.contains("tab") {
        "indent with spaces; YAML does not allow tabs there"
    } else if problem.contains("mapping values are not allowed") {
        "put quotes around a value that contains `: `, or fix the indentation of this line"
    } else if problem.contains("unknown anchor") {
        "define the anchor `&name` before the alias `*name` that uses it"
    } else if problem.contains("quoted") {
        "close the quoted value that starts here, and indent its continuation lines"
    } else if problem.contains("did not find expected") {
        "indent this line like the other entries of its block, or close the bracket opened above"
    } else {
        "fix the YAML there and run again"
    }
}

/// Merges `extensions` into the manifest text `existing` and returns the new text.
///
/// With `existing = None` the result is a minimal file holding only `extensions:`; the app's own
/// `id`, `version`, `name` and so on are the user's to add (Stripe's `stripe apps create`
/// writes them), and are never invented here. With an existing file:
///
/// - an entry of `extensions` whose `id` matches is updated: its managed keys are rewritten to
///   the values below, and any other key or comment inside it is kept;
/// - entries with other ids, and everything outside `extensions`, are left untouched;
/// - an id not yet present is appended at the end of `extensions`, in the order given; a missing
///   `extensions` key is created at the end of the file (an empty or `null` one is filled in);
/// - `methods.get_form_state` is removed from a managed entry when `form_state` is false.
///
/// A new entry is written exactly like this:
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
/// In `permissions`, only the item for `workflow_custom_action_run_write` is managed; other
/// permissions listed there are kept. The result is deterministic, and merging it again with the
/// same extensions returns it unchanged.
///
/// # Errors
///
/// [`ManifestError::InvalidExtension`] for an id that does not match `^[a-zA-Z0-9_\-\.]+$`, a
/// version that is not semver, an empty name or path, or an id given twice;
/// [`ManifestError::Syntax`] (with line and column) when `existing` is not valid YAML, and the
/// other variants for a file whose shape cannot hold extensions (top level not a mapping,
/// `extensions` not a list, duplicate keys or entries, several documents).
///
/// ```
/// use actionkit_core::platform::stripe::manifest::{StripeExtension, merge};
///
/// let ext = StripeExtension {
///     id: "send_email".into(),
///     name: "Send email".into(),
///     version: "0.1.0".into(),
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
/// assert_eq!(merge(Some(&manifest), &[ext])?, manifest);
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
    let wanted: Vec<Want> = extensions.iter().map(managed_entry).collect();
    match &root {
        Some(root) if !root.is_empty_scalar() => merge_root(&mut edits, root, &wanted)?,
        // Nothing there yet (no file, an empty one, comments only, or a bare `---`).
        _ if wanted.is_empty() && existing.is_some() => {}
        _ => edits.append_to_document(render_extensions_key(&wanted, 0, edits.nl)),
    }
    Ok(edits.apply())
}

/// Rejects extensions that would produce a manifest Stripe refuses.
fn validate(extensions: &[StripeExtension]) -> Result<(), ManifestError> {
    let invalid = |ext: &StripeExtension, problem: String| {
        Err(ManifestError::InvalidExtension {
            id: ext.id.clone(),
            problem,
        })
    };
    for (index, ext) in extensions.iter().enumerate() {
        let id_ok = !ext.id.is_empty()
            && ext
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !id_ok {
            return invalid(
                ext,
                "the id must match `^[a-zA-Z0-9_\\-\\.]+$`; use only ASCII letters, digits, `_`, `-` \
                 and `.`"
                    .into(),
            );
        }
        if extensions[..index]
            .iter()
            .any(|earlier| earlier.id == ext.id)
        {
            return invalid(
                ext,
                "the id is given twice; pass each extension once".into(),
            );
        }
        if ext.name.trim().is_empty() {
            return invalid(
                ext,
                "the name is empty; give the action a display name".into(),
            );
        }
        if semver::Version::parse(&ext.version).is_err() {
            return invalid(
                ext,
                format!(
                    "version `{}` is not semver; write it as `MAJOR.MINOR.PATCH`, e.g. `0.1.0`",
                    ext.version
                ),
            );
        }
        for (what, path) in [
            ("input_schema_path", &ext.input_schema_path),
            ("ui_schema_path", &ext.ui_schema_path),
        ] {
            if path.trim().is_empty() {
                return invalid(
                    ext,
                    format!("`{what}` is empty; give the path of the schema file"),
                );
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// What is wanted
// ---------------------------------------------------------------------------------------------

/// How a string is written when it has to be.
#[derive(Clone, Copy, Debug)]
enum Quote {
    /// Always `"…"`.
    Double,
    /// Plain when that reads back as the same string, `"…"` otherwise.
    Auto,
}

/// The managed shape of a value.
#[derive(Debug)]
enum Want {
    Str(String, Quote),
    /// A mapping; keys not listed are the user's.
    Map(Vec<(&'static str, Want)>),
    /// A list of mappings, each matched to an existing item by its first key's value; items not
    /// matched are the user's.
    List(Vec<Want>),
    /// The key must not be there.
    Absent,
}

impl Want {
    fn str(value: &str, quote: Quote) -> Self {
        Self::Str(value.to_owned(), quote)
    }

    /// The first key and its wanted value, which identify a list item.
    fn identity(&self) -> Option<(&'static str, &str)> {
        match self {
            Self::Map(entries) => match entries.first() {
                Some((key, Self::Str(value, _))) => Some((key, value)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The managed keys of one entry, in the order a new entry is written.
fn managed_entry(ext: &StripeExtension) -> Want {
    use Quote::{Auto, Double};
    let schema = |kind: &str, path: &str| {
        Want::Map(vec![
            ("type", Want::str(kind, Auto)),
            ("content", Want::str(path, Auto)),
        ])
    };
    let execute = Want::Map(vec![
        ("implementation_type", Want::str(REMOTE_FUNCTION, Auto)),
        (
            "custom_input",
            Want::Map(vec![
                (
                    "input_schema",
                    schema("json_schema", &ext.input_schema_path),
                ),
                ("ui_schema", schema("jsonforms", &ext.ui_schema_path)),
            ]),
        ),
    ]);
    let get_form_state = if ext.form_state {
        Want::Map(vec![(
            "implementation_type",
            Want::str(REMOTE_FUNCTION, Auto),
        )])
    } else {
        Want::Absent
    };
    Want::Map(vec![
        ("id", Want::str(&ext.id, Double)),
        ("name", Want::str(&ext.name, Double)),
        ("version", Want::str(&ext.version, Double)),
        ("interface_id", Want::str(INTERFACE_ID, Auto)),
        (
            "permissions",
            Want::List(vec![Want::Map(vec![
                ("permission", Want::str(PERMISSION, Auto)),
                ("purpose", Want::str(PURPOSE, Double)),
            ])]),
        ),
        (
            "methods",
            Want::Map(vec![
                ("execute", execute),
                ("get_form_state", get_form_state),
            ]),
        ),
    ])
}

// ---------------------------------------------------------------------------------------------
// The parsed file
// ---------------------------------------------------------------------------------------------

/// A YAML node with the byte range of its text in the source.
#[derive(Debug)]
struct Node {
    kind: Kind,
    /// First byte of the node (its tag or anchor, if any; the `-` of a block list).
    start: usize,
    /// One past the last byte of its content (trailing spaces and comments excluded).
    end: usize,
    /// 1-based line of `start`.
    line: usize,
    /// 1-based column of `start`, in characters.
    column: usize,
}

#[derive(Debug)]
enum Kind {
    Scalar {
        value: String,
        style: ScalarStyle,
        tagged: bool,
    },
    Alias,
    Map {
        flow: bool,
        entries: Vec<Entry>,
    },
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
}

#[derive(Debug)]
struct Entry {
    key: Node,
    value: Node,
    /// One past the `:` after the key, when there is one.
    colon_end: Option<usize>,
}

impl Node {
    /// No text at all: the implicit null of `key:` or of an empty document.
    fn is_empty_scalar(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: ScalarStyle::Plain, tagged: false } if value.is_empty())
    }

    /// An empty value (`key:` with nothing after it), pinned to the end of its key.
    fn is_empty_null(&self) -> bool {
        self.is_empty_scalar() && self.start == self.end
    }

    /// Any spelling of null.
    fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: ScalarStyle::Plain, tagged: false }
            if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The text of a scalar, however it is quoted or tagged.
    fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Whether this reads as exactly the string `want`, for any YAML reader.
    fn is_string(&self, want: &str) -> bool {
        match &self.kind {
            Kind::Scalar {
                value,
                style,
                tagged: false,
            } => value == want && (*style != ScalarStyle::Plain || plain_is_string(value)),
            _ => false,
        }
    }

    fn entries(&self) -> &[Entry] {
        match &self.kind {
            Kind::Map { entries, .. } => entries,
            _ => &[],
        }
    }

    fn get(&self, key: &str) -> Option<&Entry> {
        self.entries()
            .iter()
            .find(|entry| entry.key.text() == Some(key))
    }

    fn is_flow(&self) -> bool {
        matches!(
            self.kind,
            Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. }
        )
    }

    /// A collection that holds something (empty ones are `{}` / `[]`, always flow).
    fn is_filled_map(&self) -> bool {
        matches!(&self.kind, Kind::Map { entries, .. } if !entries.is_empty())
    }

    fn is_filled_seq(&self) -> bool {
        matches!(&self.kind, Kind::Seq { items, .. } if !items.is_empty())
    }

    /// What this is, for error messages.
    fn describe(&self) -> String {
        match &self.kind {
            Kind::Scalar { value, .. } => {
                let short: String = value.chars().take(40).collect();
                let more = if short.len() < value.len() { "…" } else { "" };
                format!("the value `{short}{more}`")
            }
            Kind::Alias => "an alias (`*name`)".into(),
            Kind::Map { .. } => "a mapping".into(),
            Kind::Seq { .. } => "a list".into(),
        }
    }
}

/// Builds [`Node`]s from the parser's events.
struct Tree<'s> {
    src: &'s str,
    /// Byte offset of each character index, plus the length.
    offsets: Vec<usize>,
    events: Vec<(Event<'s>, Span)>,
    next: usize,
}

impl<'s> Tree<'s> {
    /// Parses the one document in `src`: its root (`None` when there is none: empty or comments
    /// only), and where an explicit end marker `...` starts, if there is one.
    fn parse(src: &'s str) -> Result<(Option<Node>, Option<usize>), ManifestError> {
        let mut parser = Parser::new_from_str(src);
        let mut events = Vec::new();
        while let Some(event) = parser.next_event() {
            let (event, span) = event.map_err(|error| ManifestError::syntax(&error))?;
            if event == Event::StreamEnd {
                break;
            }
            events.push((event, span));
        }
        let offsets = src
            .char_indices()
            .map(|(offset, _)| offset)
            .chain([src.len()])
            .collect();
        let mut tree = Tree {
            src,
            offsets,
            events,
            next: 0,
        };
        let (mut root, mut document_end) = (None, None);
        while let Some((event, span)) = tree.events.get(tree.next) {
            if matches!(event, Event::DocumentStart(_)) && root.is_some() {
                return Err(ManifestError::MultipleDocuments {
                    line: span.start.line(),
                });
            }
            if matches!(event, Event::DocumentEnd) && !span.is_empty() {
                document_end = Some(tree.byte(span.start));
            }
            if matches!(
                event,
                Event::DocumentStart(_) | Event::DocumentEnd | Event::StreamStart | Event::Nothing
            ) {
                tree.next += 1;
            } else {
                root = Some(tree.node()?);
            }
        }
        Ok((root, document_end))
    }

    fn byte(&self, marker: Marker) -> usize {
        self.offsets[marker.index().min(self.offsets.len() - 1)]
    }

    fn peek_is(&self, end: fn(&Event<'s>) -> bool) -> bool {
        self.events
            .get(self.next)
            .is_some_and(|(event, _)| end(event))
    }

    fn take(&mut self) -> Result<(Event<'s>, Span), ManifestError> {
        let (event, span) =
            self.events
                .get(self.next)
                .cloned()
                .ok_or_else(|| ManifestError::Syntax {
                    line: self.src.lines().count().max(1),
                    column: 1,
                    problem: "unexpected end of the document".into(),
                })?;
        self.next += 1;
        Ok((event, span))
    }

    fn node(&mut self) -> Result<Node, ManifestError> {
        let (event, span) = self.take()?;
        let start = self.byte(span.start);
        let (line, column) = (span.start.line(), span.start.col() + 1);
        let (kind, end) = match event {
            Event::Scalar(value, style, _, tag) => {
                // An empty scalar can be given the span of the next token (`}` in `{ a: }`).
                let empty = value.is_empty() && style == ScalarStyle::Plain && tag.is_none();
                let end = if empty {
                    start
                } else {
                    self.scalar_end(style, start, self.byte(span.end))
                };
                (
                    Kind::Scalar {
                        value: value.into_owned(),
                        style,
                        tagged: tag.is_some(),
                    },
                    end,
                )
            }
            Event::Alias(_) => (Kind::Alias, self.byte(span.end)),
            Event::SequenceStart(..) => {
                let mut items = Vec::new();
                while !self.peek_is(|event| matches!(event, Event::SequenceEnd)) {
                    items.push(self.node()?);
                }
                let (_, close) = self.take()?;
                let flow = !close.is_empty();
                let end = if flow {
                    self.byte(close.start) + 1
                } else {
                    items.last().map_or(start, |n| n.end)
                };
                (Kind::Seq { flow, items }, end)
            }
            Event::MappingStart(..) => {
                let mut entries: Vec<Entry> = Vec::new();
                while !self.peek_is(|event| matches!(event, Event::MappingEnd)) {
                    let key = self.node()?;
                    let colon_end = self.colon_after(key.end);
                    let mut value = self.node()?;
                    if value.is_empty_null() {
                        // The parser places an empty value at the next token; pin it to the key.
                        value.start = colon_end.unwrap_or(key.end);
                        value.end = value.start;
                        value.line = key.line;
                    }
                    if let Some(text) = key.text()
                        && entries.iter().any(|e| e.key.text() == Some(text))
                    {
                        return Err(ManifestError::DuplicateKey {
                            key: text.to_owned(),
                            line: key.line,
                            column: key.column,
                        });
                    }
                    entries.push(Entry {
                        key,
                        value,
                        colon_end,
                    });
                }
                let (_, close) = self.take()?;
                let flow = !close.is_empty();
                let end = if flow {
                    self.byte(close.start) + 1
                } else {
                    entries.last().map_or(start, |e| e.value.end)
                };
                (Kind::Map { flow, entries }, end)
            }
            other => {
                return Err(ManifestError::Syntax {
                    line,
                    column,
                    problem: format!("unexpected {other:?} in the document"),
                });
            }
        };
        Ok(Node {
            kind,
            start,
            end,
            line,
            column,
        })
    }

    /// The end of a scalar's own text. The parser's span may run on over spaces, a comment or
    /// the indentation of the next line, so quoted scalars are scanned to their closing quote and
    /// the others are trimmed back.
    fn scalar_end(&self, style: ScalarStyle, start: usize, span_end: usize) -> usize {
        let bytes = self.src.as_bytes();
        let trim_back = |mut end: usize, floor: usize| {
            while end > floor && matches!(bytes[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
                end -= 1;
            }
            end
        };
        match style {
            ScalarStyle::Plain => trim_back(span_end, start),
            ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted => {
                let quote = if style == ScalarStyle::DoubleQuoted {
                    b'"'
                } else {
                    b'\''
                };
                let Some(open) = bytes[start..]
                    .iter()
                    .position(|&b| b == quote)
                    .map(|i| start + i)
                else {
                    return trim_back(span_end, start);
                };
                let mut i = open + 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' if quote == b'"' => i += 2,
                        b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                        b if b == quote => return i + 1,
                        _ => i += 1,
                    }
                }
                trim_back(span_end, start)
            }
            // The span starts at the content, after the `|` / `>` header line.
            ScalarStyle::Literal | ScalarStyle::Folded => {
                let end = trim_back(span_end, start);
                if end > start {
                    end
                } else {
                    trim_back(start, 0)
                }
            }
        }
    }

    /// One past the `:` that follows a key ending at `key_end`.
    fn colon_after(&self, key_end: usize) -> Option<usize> {
        let rest = &self.src[key_end..];
        let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        rest[skipped..]
            .starts_with(':')
            .then_some(key_end + skipped + 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Editing
// ---------------------------------------------------------------------------------------------

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

    /// The start of the line after the one holding `pos` (the end of the file on the last line).
    fn next_line(&self, pos: usize) -> usize {
        self.src[pos..]
            .find('\n')
            .map_or(self.src.len(), |i| pos + i + 1)
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
    /// ending (which then gets one first).
    fn insert_lines_at(&mut self, at: usize, lines: String) {
        let unterminated =
            at == self.src.len() && !self.src.is_empty() && !self.src.ends_with('\n');
        let already = self
            .edits
            .iter()
            .any(|(start, end, _)| *start == at && *end == at);
        let lines = if unterminated && !already {
            format!("{}{lines}", self.nl)
        } else {
            lines
        };
        self.edits.push((at, at, lines));
    }

    fn apply(mut self) -> String {
        // Insertions before a replacement starting at the same byte; otherwise in push order,
        // which puts deeper keys before shallower ones and keeps the wanted key order.
        self.edits
            .sort_by_key(|(start, end, _)| (*start, start != end));
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

    fn line_start(&self, pos: usize) -> usize {
        self.src[..pos].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The 0-based column of a block list's `-`, in characters (what precedes it on its line is
    /// indentation or other `- `, all ASCII).
    fn indent_of(&self, node: &Node) -> usize {
        node.column - 1
    }

    /// The column where the keys of a block mapping start: the key's own column, or that of the
    /// `?` before an explicit key.
    fn key_indent(&self, key: &Node) -> usize {
        let before = &self.src[self.line_start(key.start)..key.start];
        match before.trim_end().strip_suffix('?') {
            Some(indent) => indent.chars().count(),
            None => key.column - 1,
        }
    }

    fn unsupported(node: &Node, problem: &str) -> ManifestError {
        ManifestError::Unsupported {
            line: node.line,
            column: node.column,
            problem: problem.to_owned(),
        }
    }
}

/// Merges the wanted entries into the top-level mapping `root`.
fn merge_root(edits: &mut Splicer<'_>, root: &Node, wanted: &[Want]) -> Result<(), ManifestError> {
    let Kind::Map { flow, entries } = &root.kind else {
        return Err(ManifestError::NotAMapping {
            line: root.line,
            column: root.column,
            found: root.describe(),
        });
    };
    let Some(entry) = root.get("extensions") else {
        if wanted.is_empty() {
            return Ok(());
        }
        if *flow {
            let list = render_flow(&Want::List(Vec::new()), Some(wanted));
            match entries.last() {
                Some(last) => edits.replace(
                    last.value.end,
                    last.value.end,
                    format!(", extensions: {list}"),
                ),
                None => edits.replace(root.start, root.end, format!("{{ extensions: {list} }}")),
            }
        } else {
            // The indentation of the first key's line (the top level may start after `? `).
            let indent = entries.first().map_or(0, |e| {
                let line = &edits.src[edits.line_start(e.key.start)..];
                line.len() - line.trim_start_matches(' ').len()
            });
            edits.append_to_document(render_extensions_key(wanted, indent, edits.nl));
        }
        return Ok(());
    };
    let list = &entry.value;
    match &list.kind {
        Kind::Seq { items, .. } if !items.is_empty() => merge_list(edits, list, wanted, true),
        // `[]`, `~`, `null` or nothing at all: filled in when there is something to write.
        Kind::Seq { .. } | Kind::Scalar { .. }
            if wanted.is_empty() && (list.is_flow() || list.is_null()) =>
        {
            Ok(())
        }
        Kind::Seq { .. } => {
            replace_value(edits, root, entry, &Want::List(Vec::new()), Some(wanted))
        }
        Kind::Scalar { .. } if list.is_null() => {
            replace_value(edits, root, entry, &Want::List(Vec::new()), Some(wanted))
        }
        _ => Err(ManifestError::ExtensionsNotASequence {
            line: list.line,
            column: list.column,
            found: list.describe(),
        }),
    }
}

/// Updates the items of the non-empty list `list` that match a wanted item, and appends the
/// others. With `strict`, two items matching one wanted item are an error; otherwise the first
/// is managed.
fn merge_list(
    edits: &mut Splicer<'_>,
    list: &Node,
    wanted: &[Want],
    strict: bool,
) -> Result<(), ManifestError> {
    let Kind::Seq { flow, items } = &list.kind else {
        unreachable!("merge_list takes a list")
    };
    let mut missing = Vec::new();
    for want in wanted {
        let Some((key, id)) = want.identity() else {
            continue;
        };
        let mut matches = items
            .iter()
            .filter(|item| item.get(key).and_then(|e| e.value.text()) == Some(id));
        match matches.next() {
            Some(item) => {
                if strict && let Some(again) = matches.next() {
                    return Err(ManifestError::DuplicateEntry {
                        id: id.to_owned(),
                        line: again.line,
                        column: again.column,
                    });
                }
                let Want::Map(managed) = want else {
                    unreachable!("list items are mappings")
                };
                merge_map(edits, item, managed)?;
            }
            None => missing.push(want),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    if *flow {
        let mut text = String::new();
        for want in missing {
            text.push_str(", ");
            text.push_str(&render_flow(want, None));
        }
        let last = items.last().expect("merge_list takes a filled list").end;
        edits.replace(last, last, text);
    } else {
        let dash = edits.indent_of(list);
        let mut text = String::new();
        for want in missing {
            render_item(&mut text, want, dash, edits.nl);
        }
        edits.insert_lines_after(list.end, text);
    }
    Ok(())
}

/// Brings the managed keys of the mapping `map` to their wanted values.
fn merge_map(
    edits: &mut Splicer<'_>,
    map: &Node,
    managed: &[(&'static str, Want)],
) -> Result<(), ManifestError> {
    let entries = map.entries();
    // Missing keys go after the closest managed key before them that is present, or else before
    // the closest one after them, or else at the end.
    let mut anchor: Option<&Entry> = None;
    let mut pending: Vec<(&'static str, &Want)> = Vec::new();
    for (key, want) in managed {
        let kept = !matches!(want, Want::Absent);
        let Some(entry) = map.get(key) else {
            if kept {
                pending.push((key, want));
            }
            continue;
        };
        if kept && !pending.is_empty() {
            match anchor {
                Some(anchor) => insert_entries(edits, map, Place::After(anchor), &pending),
                None => insert_entries(edits, map, Place::Before(entry), &pending),
            }
            pending.clear();
        }
        merge_entry(edits, map, entry, want)?;
        if kept {
            anchor = Some(entry);
        }
    }
    if !pending.is_empty() {
        let last = anchor
            .or(entries.last())
            .expect("a filled mapping has entries");
        insert_entries(edits, map, Place::After(last), &pending);
    }
    Ok(())
}

/// Where new entries go in a mapping.
#[derive(Clone, Copy)]
enum Place<'a> {
    After(&'a Entry),
    Before(&'a Entry),
}

/// Inserts new managed entries into `map`.
fn insert_entries(
    edits: &mut Splicer<'_>,
    map: &Node,
    place: Place<'_>,
    new: &[(&'static str, &Want)],
) {
    let flow_entries = || {
        new.iter()
            .map(|(key, want)| format!("{key}: {}", render_flow(want, None)))
    };
    match place {
        Place::After(after) if map.is_flow() => {
            let text: String = flow_entries().map(|entry| format!(", {entry}")).collect();
            edits.replace(after.value.end, after.value.end, text);
        }
        Place::Before(before) if map.is_flow() => {
            let text: String = flow_entries().map(|entry| format!("{entry}, ")).collect();
            edits.replace(before.key.start, before.key.start, text);
        }
        Place::After(entry) | Place::Before(entry) => {
            let indent = edits.key_indent(&entry.key);
            let mut text = String::new();
            for (key, want) in new {
                render_entry(&mut text, key, want, indent, edits.nl);
            }
            let line_start = edits.line_start(entry.key.start);
            match place {
                // A key on its own line: the new lines go above it.
                Place::Before(_) if edits.src[line_start..entry.key.start].trim().is_empty() => {
                    edits.insert_lines_at(line_start, text);
                }
                Place::Before(_) => {
                    let last = map.entries().last().expect("a filled mapping has entries");
                    edits.insert_lines_after(last.value.end, text);
                }
                Place::After(_) => edits.insert_lines_after(entry.value.end, text),
            }
        }
    }
}

/// Brings one present entry of `map` to its wanted value.
fn merge_entry(
    edits: &mut Splicer<'_>,
    map: &Node,
    entry: &Entry,
    want: &Want,
) -> Result<(), ManifestError> {
    let value = &entry.value;
    match want {
        Want::Absent => remove_entry(edits, map, entry),
        Want::Str(text, _) if value.is_string(text) => Ok(()),
        Want::Map(managed) if value.is_filled_map() => merge_map(edits, value, managed),
        Want::List(items) if value.is_filled_seq() => merge_list(edits, value, items, false),
        _ => replace_value(edits, map, entry, want, None),
    }
}

/// Removes an entry of `map`, with its lines in block style.
fn remove_entry(edits: &mut Splicer<'_>, map: &Node, entry: &Entry) -> Result<(), ManifestError> {
    let src = edits.src;
    if map.is_flow() {
        // Take the comma before the entry, or else the one after it.
        let before = src[..entry.key.start].trim_end_matches([' ', '\t', '\r', '\n']);
        if let Some(comma) = before.strip_suffix(',') {
            edits.replace(comma.len(), entry.value.end, String::new());
        } else {
            let after = &src[entry.value.end..];
            let rest = after.trim_start_matches([' ', '\t', '\r', '\n']);
            let end = match rest.strip_prefix(',') {
                Some(rest) => src.len() - rest.trim_start_matches([' ', '\t']).len(),
                None => entry.value.end,
            };
            edits.replace(entry.key.start, end, String::new());
        }
        return Ok(());
    }
    let line_start = edits.line_start(entry.key.start);
    if !src[line_start..entry.key.start].trim().is_empty() {
        return Err(Splicer::unsupported(
            &entry.key,
            &format!(
                "`{}` shares its line with other content; put it on a line of its own",
                key_name(entry)
            ),
        ));
    }
    let end = edits.next_line(entry.value.end);
    edits.replace(line_start, end, String::new());
    Ok(())
}

fn key_name(entry: &Entry) -> &str {
    entry.key.text().unwrap_or("?")
}

/// Replaces the value of an entry of `map` wholesale (the value is missing, of another type, or
/// a scalar that differs). `extensions` holds the entries for a replaced `extensions` list.
fn replace_value(
    edits: &mut Splicer<'_>,
    map: &Node,
    entry: &Entry,
    want: &Want,
    extensions: Option<&[Want]>,
) -> Result<(), ManifestError> {
    let value = &entry.value;
    let Some(colon_end) = entry.colon_end else {
        return Err(Splicer::unsupported(
            &entry.key,
            &format!(
                "`{}` has no `:` after it; write it as `{}: …`",
                key_name(entry),
                key_name(entry)
            ),
        ));
    };
    let block_value = matches!(
        &value.kind,
        Kind::Scalar {
            style: ScalarStyle::Literal | ScalarStyle::Folded,
            ..
        }
    ) || matches!(
        &value.kind,
        Kind::Map { flow: false, .. } | Kind::Seq { flow: false, .. }
    );
    let inline = |edits: &mut Splicer<'_>, text: String| {
        if value.is_empty_null() || block_value {
            edits.replace(colon_end, value.end, format!(" {text}"));
        } else {
            edits.replace(value.start, value.end, text);
        }
    };
    if let Want::Str(text, quote) = want {
        inline(edits, render_scalar(text, *quote));
        return Ok(());
    }
    if map.is_flow() {
        inline(edits, render_flow(want, extensions));
        return Ok(());
    }
    let indent = edits.key_indent(&entry.key) + 2;
    let mut text = String::new();
    match (want, extensions) {
        (_, Some(extensions)) => {
            for item in extensions {
                render_item(&mut text, item, indent, edits.nl);
            }
        }
        (Want::Map(entries), None) => render_map(&mut text, entries, indent, edits.nl),
        (Want::List(items), None) => {
            for item in items {
                render_item(&mut text, item, indent, edits.nl);
            }
        }
        (Want::Str(..) | Want::Absent, None) => unreachable!("handled above"),
    }
    if value.is_empty_null() {
        // `key:` (maybe with a comment): the block goes on the lines after it.
        edits.insert_lines_after(colon_end, text);
    } else {
        let text = text.strip_suffix(edits.nl).unwrap_or(&text).to_owned();
        edits.replace(colon_end, value.end, format!("{}{text}", edits.nl));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// `extensions:` with the entries below it, for the end of a file.
fn render_extensions_key(wanted: &[Want], indent: usize, nl: &str) -> String {
    let pad = " ".repeat(indent);
    if wanted.is_empty() {
        return format!("{pad}extensions: []{nl}");
    }
    let mut out = format!("{pad}extensions:{nl}");
    for want in wanted {
        render_item(&mut out, want, indent + 2, nl);
    }
    out
}

/// `key: value` lines at `indent`.
fn render_entry(out: &mut String, key: &str, want: &Want, indent: usize, nl: &str) {
    let pad = " ".repeat(indent);
    match want {
        Want::Absent => {}
        Want::Str(text, quote) => {
            out.push_str(&format!("{pad}{key}: {}{nl}", render_scalar(text, *quote)))
        }
        Want::Map(entries) => {
            out.push_str(&format!("{pad}{key}:{nl}"));
            render_map(out, entries, indent + 2, nl);
        }
        Want::List(items) => {
            out.push_str(&format!("{pad}{key}:{nl}"));
            for item in items {
                render_item(out, item, indent + 2, nl);
            }
        }
    }
}

fn render_map(out: &mut String, entries: &[(&'static str, Want)], indent: usize, nl: &str) {
    for (key, want) in entries {
        render_entry(out, key, want, indent, nl);
    }
}

/// A `- ` list item with its dash at `dash`.
fn render_item(out: &mut String, want: &Want, dash: usize, nl: &str) {
    let Want::Map(entries) = want else {
        unreachable!("list items are mappings")
    };
    let mut item = String::new();
    render_map(&mut item, entries, dash + 2, nl);
    out.push_str(&" ".repeat(dash));
    out.push_str("- ");
    out.push_str(&item[dash + 2..]);
}

/// A value in flow style (`{ k: v }`, `[ … ]`); `items` overrides a list's items.
fn render_flow(want: &Want, items: Option<&[Want]>) -> String {
    match want {
        Want::Str(text, quote) => render_scalar(text, *quote),
        Want::Map(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .filter(|(_, want)| !matches!(want, Want::Absent))
                .map(|(key, want)| format!("{key}: {}", render_flow(want, None)))
                .collect();
            if parts.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", parts.join(", "))
            }
        }
        Want::List(own) => {
            let parts: Vec<String> = items
                .unwrap_or(own)
                .iter()
                .map(|item| render_flow(item, None))
                .collect();
            if parts.is_empty() {
                "[]".into()
            } else {
                format!("[ {} ]", parts.join(", "))
            }
        }
        Want::Absent => "null".into(),
    }
}

fn render_scalar(text: &str, quote: Quote) -> String {
    match quote {
        Quote::Auto if plain_is_safe(text) => text.to_owned(),
        Quote::Auto | Quote::Double => double_quoted(text),
    }
}

/// `"…"` with YAML escapes.
fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            '\u{feff}' => out.push_str("\\uFEFF"),
            c if c < ' ' || c == '\u{7f}' => out.push_str(&format!("\\x{:02X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a plain scalar with this text reads as a string for YAML 1.1 and 1.2 readers alike
/// (conservative: anything that might be a null, boolean, number or timestamp is not).
fn plain_is_string(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let keyword = matches!(
        lower.as_str(),
        "" | "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "=" | "<<"
    );
    let unsigned = lower.trim_start_matches(['-', '+']);
    let numberish = (unsigned.starts_with(|c: char| c.is_ascii_digit())
        || unsigned.starts_with(".inf")
        || unsigned.starts_with(".nan")
        || unsigned.starts_with('.') && unsigned[1..].starts_with(|c: char| c.is_ascii_digit()))
        && unsigned
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "xob._:+-tz infa".contains(c));
    !keyword && !numberish
}

/// Whether `text` can be written plain, in block or flow context, and read back unchanged.
fn plain_is_safe(text: &str) -> bool {
    plain_is_string(text)
        && text.trim() == text
        && !text.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`',
        ])
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
        && !text.chars().any(|c| {
            c.is_control()
                || matches!(
                    c,
                    ',' | '[' | ']' | '{' | '}' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
                )
        })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    fn ext(id: &str, form_state: bool) -> StripeExtension {
        StripeExtension {
            id: id.into(),
            name: "Send email".into(),
            version: "0.1.0".into(),
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

    /// The managed values every entry for `ext` must carry.
    fn assert_managed(src: &str, ext: &StripeExtension) {
        let entry = entry(src, &ext.id);
        assert_eq!(entry["name"], ext.name.as_str());
        assert_eq!(entry["version"], ext.version.as_str());
        assert_eq!(entry["interface_id"], INTERFACE_ID);
        let ours: Vec<&Value> = entry["permissions"]
            .as_array()
            .expect("permissions is a list")
            .iter()
            .filter(|p| p["permission"] == PERMISSION)
            .collect();
        assert_eq!(ours[0]["purpose"], PURPOSE);
        let execute = &entry["methods"]["execute"];
        assert_eq!(execute["implementation_type"], REMOTE_FUNCTION);
        assert_eq!(
            execute["custom_input"]["input_schema"],
            json!({"type": "json_schema", "content": ext.input_schema_path})
        );
        assert_eq!(
            execute["custom_input"]["ui_schema"],
            json!({"type": "jsonforms", "content": ext.ui_schema_path})
        );
        match ext.form_state {
            true => assert_eq!(
                entry["methods"]["get_form_state"]["implementation_type"],
                REMOTE_FUNCTION
            ),
            false => {
                assert!(
                    entry["methods"].get("get_form_state").is_none(),
                    "get_form_state left in:\n{src}"
                )
            }
        }
    }

    fn merged(existing: &str, extensions: &[StripeExtension]) -> String {
        let out =
            merge(Some(existing), extensions).unwrap_or_else(|e| panic!("{e}\nin:\n{existing}"));
        assert_eq!(
            merge(Some(&out), extensions).as_ref(),
            Ok(&out),
            "not idempotent; first output:\n{out}"
        );
        for ext in extensions {
            assert_managed(&out, ext);
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
        let out = merge(None, &[ext("send_email", true), create_task.clone()]).unwrap();
        let expected = format!(
            "extensions:\n{SEND_EMAIL_ENTRY}{}",
            r#"  - id: "create_task"
    name: "Create \"task\""
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
            content: extensions/create_task/input_schema.json
          ui_schema:
            type: jsonforms
            content: extensions/create_task/ui_schema.json
"#
        );
        assert_eq!(out, expected);
        assert_managed(&out, &create_task);
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
    x_owner: growth-team   # a key of the user's
    # The methods are generated too.
    methods:
      execute:
        implementation_type: remote_function
        custom_input:
          input_schema:
            type: json_schema
            content: extensions/send_email/old_input.json
          ui_schema: { type: jsonforms, content: extensions/send_email/ui_schema.json }
        timeout_hint: 10
      get_form_state:
        implementation_type: remote_function
post_install_action:
  type: external
  url: https://example.com/welcome
# end of manifest
"#;

    #[test]
    fn merge_into_a_realistic_manifest_touches_only_managed_keys() {
        let out = merged(
            REALISTIC,
            &[ext("send_email", false), ext("create_task", true)],
        );
        let expected = r#"# Stripe App manifest for the Mailer app.
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
    name: "Send email"      # renamed below
    version: "0.1.0"
    interface_id: extend.workflows.custom_action
    permissions:
      - permission: workflow_custom_action_run_write
        purpose: "Runs custom actions in workflows and accesses data from earlier workflow steps"
    x_owner: growth-team   # a key of the user's
    # The methods are generated too.
    methods:
      execute:
        implementation_type: remote_function
        custom_input:
          input_schema:
            type: json_schema
            content: extensions/send_email/input_schema.json
          ui_schema: { type: jsonforms, content: extensions/send_email/ui_schema.json }
        timeout_hint: 10
  - id: "create_task"
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
            content: extensions/create_task/input_schema.json
          ui_schema:
            type: jsonforms
            content: extensions/create_task/ui_schema.json
      get_form_state:
        implementation_type: remote_function
post_install_action:
  type: external
  url: https://example.com/welcome
# end of manifest
"#;
        assert_eq!(out, expected);
    }

    #[test]
    fn stale_entry_is_updated_line_by_line() {
        let stale = SEND_EMAIL_ENTRY
            .replace("0.1.0", "0.0.3")
            .replace("Send email", "Mail")
            .replace("extensions/send_email/", "old/")
            .replace("purpose: \"Runs", "purpose: \"Ran");
        let existing = format!("id: com.example.app\nextensions:\n{stale}");
        let out = merged(&existing, &[ext("send_email", true)]);
        assert_eq!(
            out,
            format!("id: com.example.app\nextensions:\n{SEND_EMAIL_ENTRY}")
        );
        // Only the stale lines changed.
        let changed = existing
            .lines()
            .zip(out.lines())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(changed, 5);
        assert_eq!(existing.lines().count(), out.lines().count());
    }

    #[test]
    fn get_form_state_is_removed_and_added_back() {
        let existing = format!(
            "extensions:\n{}  # a trailing comment\nother: 1\n",
            SEND_EMAIL_ENTRY.replace(
                "      get_form_state:",
                "      # dynamic form\n      get_form_state:  # on"
            )
        );
        let out = merged(&existing, &[ext("send_email", false)]);
        assert_eq!(
            out,
            format!(
                "extensions:\n{}      # dynamic form\n  # a trailing comment\nother: 1\n",
                SEND_EMAIL_ENTRY.replace(
                    "      get_form_state:\n        implementation_type: remote_function\n",
                    ""
                )
            )
        );
        // Added back right after `execute`, the managed key before it.
        let back = merged(&out, &[ext("send_email", true)]);
        assert_eq!(
            back,
            format!(
                "extensions:\n{SEND_EMAIL_ENTRY}      # dynamic form\n  # a trailing comment\nother: 1\n"
            )
        );
    }

    #[test]
    fn file_without_extensions_gets_them_at_the_end() {
        let entry = SEND_EMAIL_ENTRY;
        let cases = [
            (
                "id: com.example.app\nname: App\n# last comment\n",
                "id: com.example.app\nname: App\n# last comment\nextensions:\n",
            ),
            ("id: com.example.app", "id: com.example.app\nextensions:\n"),
            (
                "id: com.example.app\nextensions:\nname: App\n",
                "id: com.example.app\nextensions:\n",
            ),
            (
                "id: com.example.app\nextensions: # none yet\n",
                "id: com.example.app\nextensions: # none yet\n",
            ),
            ("", "extensions:\n"),
            ("# only a comment\n", "# only a comment\nextensions:\n"),
            ("---\n", "---\nextensions:\n"),
        ];
        for (existing, prefix) in cases {
            let out = merged(existing, &[ext("send_email", true)]);
            let rest = out
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{existing:?} gave:\n{out}"));
            assert!(rest.starts_with(entry), "{existing:?} gave:\n{out}");
            if existing.contains("name: App\n") && existing.contains("extensions:") {
                assert!(rest.ends_with("name: App\n"), "{out}");
            }
        }
        for (existing, key_line) in [
            ("id: a\nextensions: []\n", "extensions:"),
            ("id: a\nextensions: ~\n", "extensions:"),
        ] {
            assert_eq!(
                merged(existing, &[ext("send_email", true)]),
                format!("id: a\n{key_line}\n{entry}")
            );
        }
        // Nothing to write: the file is left alone.
        assert_eq!(merge(Some("id: a\n"), &[]).unwrap(), "id: a\n");
        assert_eq!(
            merge(Some("id: a\nextensions: []\n"), &[]).unwrap(),
            "id: a\nextensions: []\n"
        );
    }

    #[test]
    fn flow_style_values_are_edited_in_flow_style() {
        let existing = r#"extensions:
  - id: send_email
    name: Send email
    version: "0.1.0"
    interface_id: extend.workflows.custom_action
    permissions: [{ permission: workflow_custom_action_run_write, purpose: "old" }]
    methods:
      execute:
        implementation_type: remote_function
        custom_input:
          input_schema: { type: json_schema, content: old.json }
          ui_schema:    { type: jsonforms }
      get_form_state: { implementation_type: remote_function, note: keep }
  - { id: other, name: x }
"#;
        let out = merged(existing, &[ext("send_email", true), ext("flowy", false)]);
        assert_eq!(
            out,
            r#"extensions:
  - id: send_email
    name: Send email
    version: "0.1.0"
    interface_id: extend.workflows.custom_action
    permissions: [{ permission: workflow_custom_action_run_write, purpose: "Runs custom actions in workflows and accesses data from earlier workflow steps" }]
    methods:
      execute:
        implementation_type: remote_function
        custom_input:
          input_schema: { type: json_schema, content: extensions/send_email/input_schema.json }
          ui_schema:    { type: jsonforms, content: extensions/send_email/ui_schema.json }
      get_form_state: { implementation_type: remote_function, note: keep }
  - { id: other, name: x }
"#
            .to_owned()
                + &SEND_EMAIL_ENTRY
                    .replace("send_email", "flowy")
                    .replace("      get_form_state:\n        implementation_type: remote_function\n", "")
        );
        let flow_list = "extensions: [{ id: a }]\n";
        let out = merged(flow_list, &[ext("b", false)]);
        assert!(
            out.starts_with("extensions: [{ id: a }, { id: \"b\", name: \"Send email\""),
            "{out}"
        );
    }

    #[test]
    fn user_spelling_of_an_equal_value_is_kept() {
        let existing =
            "extensions:\n  - id: send_email\n    name: Send email\n    version: '0.1.0'\n";
        let out = merged(existing, &[ext("send_email", false)]);
        assert!(out.starts_with(existing), "{out}");
        // A plain `0.1.0` could read as a number to a YAML 1.1 reader: it gets quotes.
        let out = merged(
            "extensions:\n  - id: send_email\n    version: 0.1.0\n",
            &[ext("send_email", false)],
        );
        assert!(out.contains("    version: \"0.1.0\"\n"), "{out}");
    }

    #[test]
    fn other_permissions_are_kept_and_values_of_the_wrong_type_replaced() {
        let existing = "extensions:\n  - id: send_email\n    permissions:\n      - permission: customer_read\n        \
                        purpose: x\n    methods: [] # odd\n    interface_id: *anchor_free\n";
        let existing = existing.replace("*anchor_free", "{ wrong: 1 }");
        let out = merged(&existing, &[ext("send_email", false)]);
        assert!(out.contains(
            "    permissions:\n      - permission: customer_read\n        purpose: x\n      - permission: \
             workflow_custom_action_run_write\n"
        ));
        assert!(out.contains("    methods:\n      execute:\n"), "{out}");
        assert!(
            out.contains("    interface_id: extend.workflows.custom_action\n"),
            "{out}"
        );
    }

    #[test]
    fn crlf_line_endings_are_kept() {
        let existing = "id: app\r\nextensions:\r\n  - id: other\r\n";
        let out = merged(existing, &[ext("send_email", true)]);
        assert!(out.starts_with(existing));
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
        let cases: [(Breaker, &str); 5] = [
            (|e| e.id = "send email".into(), "the id must match"),
            (|e| e.version = "1.0".into(), "version `1.0` is not semver"),
            (|e| e.version = "01.0.0".into(), "is not semver"),
            (|e| e.name = " ".into(), "the name is empty"),
            (
                |e| e.ui_schema_path = String::new(),
                "`ui_schema_path` is empty",
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
        let is_semver = |v: &str| semver::Version::parse(v).is_ok();
        assert!(is_semver("1.2.3-rc.1+build.5") && !is_semver("1.2.3-01") && !is_semver("1.2"));
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
            let src = format!("k: {}\n", render_scalar(text, Quote::Auto));
            assert_eq!(to_json(&src)["k"], text, "{src}");
            let src = format!("k: {{ x: {} }}\n", render_scalar(text, Quote::Auto));
            assert_eq!(to_json(&src)["k"]["x"], text, "{src}");
        }
    }

    // Property: whatever mix of pieces a manifest is made of, merging succeeds, writes the
    // managed values, keeps what is not ours and is idempotent.

    const HEADERS: [&str; 4] = [
        "",
        "# manifest\nid: com.example.app\nversion: 0.0.1\n",
        "id: com.example.app  # app\nname: \"App\"\npermissions:\n  - permission: customer_read\n    purpose: Reads\n",
        "ui_extension:\n  views: []\npost_install_action: { type: external, url: \"https://x.test\" }\n",
    ];

    const FOREIGN: &str = "  - id: \"other\"   # not ours\n    interface_id: extend.invoicing.footer\n    methods: { execute: { implementation_type: script } }\n";

    const OURS: [&str; 5] = [
        "  - id: send_email\n    name: Old    # c\n    custom: 1\n",
        "  - id: \"send_email\"\n    name: \"Send mail\"\n    version: \"0.0.1\"\n    interface_id: extend.workflows.custom_action\n    permissions:\n      - permission: customer_read\n        purpose: \"x\"\n    methods:\n      execute:\n        implementation_type: remote_function\n        custom_input:\n          input_schema: { type: json_schema, content: old.json }\n          ui_schema:    { type: jsonforms,   content: old_ui.json }\n      get_form_state:   # dynamic\n        implementation_type: remote_function\n",
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

    #[test]
    fn missing_keys_are_inserted_in_the_documented_order() {
        let existing = "extensions:\n  - id: send_email\n    methods:\n      get_form_state:\n        \
                        implementation_type: script\n";
        let out = merged(existing, &[ext("send_email", true)]);
        assert_eq!(
            out,
            format!(
                "extensions:\n{}",
                SEND_EMAIL_ENTRY.replace("id: \"send_email\"", "id: send_email")
            )
        );
    }

    #[test]
    fn unusual_but_valid_layouts_stay_valid() {
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
            out.starts_with("id: app\nextensions:\n")
                && out.ends_with("\n...\n# after the document\n"),
            "{out}"
        );
        // A flow top level with an empty value at its end.
        let out = merged("{ id: app, note: }\n", &[ext("send_email", false)]);
        assert!(
            out.starts_with("{ id: app, note:, extensions: [ { id: \"send_email\""),
            "{out}"
        );
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
            let (before, after) = (to_json(&existing), to_json(&out));
            // Everything outside `extensions` is unchanged, in order.
            let outside = |doc: &Value| {
                doc.as_object().into_iter().flatten().filter(|(k, _)| *k != "extensions").map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>()
            };
            prop_assert_eq!(outside(&before), outside(&after));
            // Entries not ours are unchanged, and so are the user's keys inside ours.
            if list >= 3 {
                prop_assert_eq!(&entry(&out, "other"), &entry(&existing, "other"));
                prop_assert!(out.contains(FOREIGN));
            }
            if list == 4 && send_email.is_some() {
                let (old, new) = (entry(&existing, "send_email"), entry(&out, "send_email"));
                for (key, value) in old.as_object().unwrap() {
                    if !["name", "version", "interface_id", "permissions", "methods"].contains(&key.as_str()) {
                        prop_assert_eq!(&new[key], value);
                    }
                }
            }
            // Comments survive.
            for line in existing.lines().filter(|l| l.trim_start().starts_with('#')) {
                prop_assert!(out.contains(line), "lost {:?}", line);
            }
        }
    }
}
