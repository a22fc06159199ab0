//! Why a manifest could not be merged, with the line and column to fix.

use saphyr_parser::ScanError;

/// Why [`merge`](super::merge) could not produce a manifest.
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
    /// An extension passed to [`merge`](super::merge) is invalid; nothing was read or written.
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

    pub(super) fn syntax(error: &ScanError) -> Self {
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
