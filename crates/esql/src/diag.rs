//! Compile-time diagnostics: a message with a byte span into the query text, rendered as a
//! miette snippet with a caret (no ANSI colours).

use std::fmt;
use std::ops::Range;

/// A parse or analysis error with the location it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    message: String,
    span: Range<usize>,
    line_col: (usize, usize),
}

impl Diagnostic {
    /// Builds a diagnostic for `span` of `source`; the message is prefixed with `line L:C: `
    /// as Elasticsearch does.
    pub(crate) fn new(source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let line_col = line_col(source, span.start);
        Diagnostic {
            message: message.into(),
            span,
            line_col,
        }
    }

    /// The message without location, e.g. `Unknown column [foo]`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte range into the query text.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// 1-based line and column of the span start.
    pub fn line_col(&self) -> (usize, usize) {
        self.line_col
    }

    /// A miette-style report: the message, then the offending source line(s) with a caret
    /// under the span. `name` labels the source (a rule file name, say).
    pub fn render(&self, name: &str, source: &str) -> String {
        let report = Report {
            message: format!("line {}:{}: {}", self.line_col.0, self.line_col.1, self.message),
            src: miette::NamedSource::new(name, source.to_string()),
            span: clamp(&self.span, source.len()),
        };
        let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(400);
        let mut out = String::new();
        if handler.render_report(&mut out, &report).is_err() {
            out = format!("{}\n", report.message);
        }
        out
    }
}

fn clamp(span: &Range<usize>, len: usize) -> miette::SourceSpan {
    let start = span.start.min(len);
    let end = span.end.clamp(start, len);
    if start == end && start == len && len > 0 {
        // the end of input: point at the last character so the caret shows
        return (len - 1, 1).into();
    }
    (start, end - start).into()
}

/// 1-based (line, column) of a byte offset; columns count characters.
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let col = match before.rfind('\n') {
        Some(nl) => before[nl + 1..].chars().count() + 1,
        None => before.chars().count() + 1,
    };
    (line, col)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}:{}: {}",
            self.line_col.0, self.line_col.1, self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

#[derive(Debug)]
struct Report {
    message: String,
    src: miette::NamedSource<String>,
    span: miette::SourceSpan,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(miette::LabeledSpan::new_with_span(
            Some("here".to_string()),
            self.span,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let src = "from a\n| where foo == 1";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 15), (2, 9));
    }
}
