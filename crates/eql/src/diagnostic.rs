//! [`Diagnostic`]: a positioned compile error (syntax or analysis) with Elasticsearch-like
//! wording, rendered as a source snippet with a caret line (no ANSI colours).

use std::fmt;
use std::ops::Range;

/// A compile error at a byte range of the query text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    message: String,
    span: Range<usize>,
    line_col: (usize, usize),
}

impl Diagnostic {
    pub(crate) fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        Diagnostic {
            message: message.into(),
            span,
            line_col: (0, 0),
        }
    }

    /// Fills in the line and column once the source is known.
    pub(crate) fn locate(mut self, source: &str) -> Self {
        self.line_col = line_col(source, self.span.start);
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte range of the offending text in the query.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// 1-based line and column (in characters) of the start of the span.
    pub fn line_col(&self) -> (usize, usize) {
        self.line_col
    }

    /// `error: message`, a `--> name:line:col` locator, the source line and a caret line
    /// under the span (multi-line spans are underlined to the end of their first line).
    pub fn render(&self, name: &str, source: &str) -> String {
        let (line, col) = line_col(source, self.span.start.min(source.len()));
        let line_start = source[..self.span.start.min(source.len())]
            .rfind('\n')
            .map(|p| p + 1)
            .unwrap_or(0);
        let line_end = source[line_start..]
            .find('\n')
            .map(|p| line_start + p)
            .unwrap_or(source.len());
        let text = source[line_start..line_end].trim_end_matches('\r');
        let end = self
            .span
            .end
            .clamp(self.span.start, line_end)
            .min(line_start + text.len());
        let width = source
            .get(self.span.start.min(end)..end)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            .max(1);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        format!(
            "error: {msg}\n{pad}--> {name}:{line}:{col}\n{pad} |\n{line} | {text}\n{pad} | {sp}{carets}\n",
            msg = self.message,
            sp = " ".repeat(col - 1),
            carets = "^".repeat(width),
        )
    }
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map(|p| &before[p + 1..])
        .unwrap_or(before)
        .chars()
        .count()
        + 1;
    (line, col)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (l, c) = self.line_col;
        if l > 0 {
            write!(f, "line {l}:{c}: {}", self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(miette::LabeledSpan::new_with_span(
            None,
            self.span.clone(),
        ))))
    }
}
