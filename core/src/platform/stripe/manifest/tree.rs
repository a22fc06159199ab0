//! The parsed file: a small tree of YAML nodes, each with the byte range of its text.
//!
//! Built from `saphyr-parser`'s events (the maintained YAML 1.2 parser of the yaml-rust line,
//! which rejects malformed input with a position and reports the span of every event), so an
//! entry can be found, and its text replaced whole, without re-serialising anything else.

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span};

use super::ManifestError;

/// A YAML node with the byte range of its text in the source.
#[derive(Debug)]
pub(super) struct Node {
    pub(super) kind: Kind,
    /// First byte of the node (its tag or anchor, if any; the `-` of a block list).
    pub(super) start: usize,
    /// One past the last byte of its content (trailing spaces and comments excluded).
    pub(super) end: usize,
    /// 1-based line of `start`.
    pub(super) line: usize,
    /// 1-based column of `start`, in characters.
    pub(super) column: usize,
}

#[derive(Debug)]
pub(super) enum Kind {
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
pub(super) struct Entry {
    pub(super) key: Node,
    pub(super) value: Node,
    /// One past the `:` after the key, when there is one.
    pub(super) colon_end: Option<usize>,
}

impl Node {
    /// No text at all: the implicit null of `key:` or of an empty document.
    pub(super) fn is_empty_scalar(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: ScalarStyle::Plain, tagged: false } if value.is_empty())
    }

    /// An empty value (`key:` with nothing after it), pinned to the end of its key.
    fn is_empty_null(&self) -> bool {
        self.is_empty_scalar() && self.start == self.end
    }

    /// Any spelling of null.
    pub(super) fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: ScalarStyle::Plain, tagged: false }
            if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The text of a scalar, however it is quoted or tagged.
    pub(super) fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    pub(super) fn entries(&self) -> &[Entry] {
        match &self.kind {
            Kind::Map { entries, .. } => entries,
            _ => &[],
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&Entry> {
        self.entries()
            .iter()
            .find(|entry| entry.key.text() == Some(key))
    }

    /// What this is, for error messages.
    pub(super) fn describe(&self) -> String {
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
pub(super) struct Tree<'s> {
    src: &'s str,
    /// Byte offset of each character index, plus the length.
    offsets: Vec<usize>,
    events: Vec<(Event<'s>, Span)>,
    next: usize,
}

impl<'s> Tree<'s> {
    /// Parses the one document in `src`: its root (`None` when there is none: empty or comments
    /// only), and where an explicit end marker `...` starts, if there is one.
    pub(super) fn parse(src: &'s str) -> Result<(Option<Node>, Option<usize>), ManifestError> {
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
