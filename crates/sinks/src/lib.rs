//! Output formats for alerts, query results and documents.
//!
//! - [`Format::Table`]: for a terminal. Alerts print as one block each (time, severity, rule
//!   name, reason, the key fields); rows and documents as a text table.
//! - [`Format::Ndjson`]: one JSON object per line.
//! - [`Format::Json`]: one JSON array (`[]` when there is nothing), one element per line.
//! - [`Format::Csv`]: a header line then one line per alert, row or document.
//!
//! Alert sinks ([`alert_sink`]) stream: each [`AlertSink::emit`] writes at once; call
//! [`AlertSink::finish`] at the end (it closes the JSON array, writes a CSV header when nothing
//! was emitted, and flushes).

mod alerts;
mod cells;
mod rows;

pub use alerts::{ALERT_CSV_COLUMNS, AlertSink, alert_sink};
pub use rows::{write_docs, write_rows};

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Ndjson,
    Json,
    Csv,
}

impl Format {
    /// The format's name as a command line would write it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Ndjson => "ndjson",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" | "text" | "txt" => Ok(Format::Table),
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            other => Err(format!(
                "unknown format {other:?} (use table, ndjson, json or csv)"
            )),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
