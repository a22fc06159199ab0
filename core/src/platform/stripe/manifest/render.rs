//! The text of an entry, in the one layout actionkit writes.

use super::{INTERFACE_ID, PERMISSION, PURPOSE, REMOTE_FUNCTION, StripeExtension};

/// The whole `- id: …` entry for `ext`, its dash at column `dash`, each line ended by `nl`.
pub(super) fn entry(ext: &StripeExtension, dash: usize, nl: &str) -> String {
    let pad = |extra: usize| " ".repeat(dash + extra);
    let mut lines = vec![
        format!("{}- id: {}", pad(0), double_quoted(&ext.id)),
        format!("{}name: {}", pad(2), double_quoted(&ext.name)),
        format!("{}version: {}", pad(2), double_quoted(&ext.version)),
    ];
    if let Some(description) = &ext.description {
        lines.push(format!(
            "{}description: {}",
            pad(2),
            double_quoted(description)
        ));
    }
    lines.push(format!("{}interface_id: {INTERFACE_ID}", pad(2)));
    lines.push(format!("{}permissions:", pad(2)));
    let permissions = [(PERMISSION, PURPOSE)].into_iter().chain(
        ext.permissions
            .iter()
            .map(|p| (p.permission.as_str(), p.purpose.as_str())),
    );
    for (permission, purpose) in permissions {
        lines.push(format!(
            "{}- permission: {}",
            pad(4),
            plain_or_quoted(permission)
        ));
        lines.push(format!("{}purpose: {}", pad(6), double_quoted(purpose)));
    }
    lines.extend([
        format!("{}methods:", pad(2)),
        format!("{}execute:", pad(4)),
        format!("{}implementation_type: {REMOTE_FUNCTION}", pad(6)),
        format!("{}custom_input:", pad(6)),
    ]);
    for (key, kind, path) in [
        ("input_schema", "json_schema", &ext.input_schema_path),
        ("ui_schema", "jsonforms", &ext.ui_schema_path),
    ] {
        lines.push(format!("{}{key}:", pad(8)));
        lines.push(format!("{}type: {kind}", pad(10)));
        lines.push(format!("{}content: {}", pad(10), plain_or_quoted(path)));
    }
    if ext.form_state {
        lines.push(format!("{}get_form_state:", pad(4)));
        lines.push(format!("{}implementation_type: {REMOTE_FUNCTION}", pad(6)));
    }
    let mut out = lines.join(nl);
    out.push_str(nl);
    out
}

/// `text` plain when that reads back as the same string, double-quoted otherwise.
pub(super) fn plain_or_quoted(text: &str) -> String {
    if plain_is_safe(text) {
        text.to_owned()
    } else {
        double_quoted(text)
    }
}

/// `"…"` with YAML escapes.
pub(super) fn double_quoted(text: &str) -> String {
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
