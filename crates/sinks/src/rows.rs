//! Query results (rows with typed columns) and documents, in one of the [`Format`]s.
//!
//! Rows: `Table` is a text table with a `name` header (and the column types under it);
//! `Ndjson` writes one object per row (`{"col": value}`, nulls kept so every row has every
//! column); `Json` is an array of those objects; `Csv` a header of column names and one record
//! per row (null is an empty field, multi-values `[a, b]`).
//!
//! Documents: `Ndjson`/`Json` write each `_source`; `Table` prints each document's `_id`,
//! `_index` and origin, then its fields one per line; `Csv` has one column per field path
//! seen in any document (first-seen order).

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table, presets};
use events::{Document, Map, Value};

use crate::Format;
use crate::cells::{csv_cell, table_cell};

fn to_io(e: serde_json::Error) -> io::Error {
    io::Error::other(e)
}

/// Writes a query result: `columns` are `(name, type)`, each row has one value per column.
pub fn write_rows(
    out: &mut dyn Write,
    format: Format,
    columns: &[(String, String)],
    rows: &[Vec<Value>],
) -> io::Result<()> {
    match format {
        Format::Table => {
            let mut table = Table::new();
            table
                .load_preset(presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(
                    columns
                        .iter()
                        .map(|(n, t)| format!("{n}\n{t}"))
                        .collect::<Vec<_>>(),
                );
            for row in rows {
                table.add_row(row.iter().map(table_cell).collect::<Vec<_>>());
            }
            writeln!(out, "{table}")?;
            writeln!(
                out,
                "{} row{}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            )
        }
        Format::Ndjson => {
            for row in rows {
                serde_json::to_writer(&mut *out, &row_object(columns, row)).map_err(to_io)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        Format::Json => {
            let items: Vec<Map> = rows.iter().map(|r| row_object(columns, r)).collect();
            write_json_array(out, &items)
        }
        Format::Csv => {
            let mut w = csv::WriterBuilder::new().from_writer(&mut *out);
            w.write_record(columns.iter().map(|(n, _)| n.as_str()))?;
            for row in rows {
                w.write_record(row.iter().map(csv_cell))?;
            }
            w.flush()
        }
    }
}

fn row_object(columns: &[(String, String)], row: &[Value]) -> Map {
    columns
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.clone(), row.get(i).cloned().unwrap_or(Value::Null)))
        .collect()
}

fn write_json_array(out: &mut dyn Write, items: &[Map]) -> io::Result<()> {
    if items.is_empty() {
        return out.write_all(b"[]\n");
    }
    out.write_all(b"[\n")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut *out, item).map_err(to_io)?;
    }
    out.write_all(b"\n]\n")
}

fn flat_value(values: &[&Value]) -> Value {
    match values {
        [one] => (*one).clone(),
        many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
    }
}

/// Writes documents (see the module docs for each format).
pub fn write_docs(out: &mut dyn Write, format: Format, docs: &[&Document]) -> io::Result<()> {
    match format {
        Format::Ndjson => {
            for d in docs {
                serde_json::to_writer(&mut *out, &d.source).map_err(to_io)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        Format::Json => {
            let items: Vec<Map> = docs.iter().map(|d| d.source.clone()).collect();
            write_json_array(out, &items)
        }
        Format::Table => {
            for (i, d) in docs.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                let origin = d.origin.as_ref().map(|o| format!("  ({o})")).unwrap_or_default();
                writeln!(out, "_id: {}  _index: {}{origin}", d.id, d.index)?;
                let flat = d.flatten();
                let width = flat.iter().map(|(p, _)| p.chars().count()).max().unwrap_or(0);
                for (path, values) in flat {
                    writeln!(out, "  {path:width$}  {}", table_cell(&flat_value(&values)))?;
                }
            }
            writeln!(
                out,
                "{} document{}",
                docs.len(),
                if docs.len() == 1 { "" } else { "s" }
            )
        }
        Format::Csv => {
            let flats: Vec<Vec<(String, Vec<&Value>)>> = docs.iter().map(|d| d.flatten()).collect();
            let mut columns: Vec<&str> = Vec::new();
            for flat in &flats {
                for (p, _) in flat {
                    if !columns.contains(&p.as_str()) {
                        columns.push(p);
                    }
                }
            }
            let mut w = csv::WriterBuilder::new().from_writer(&mut *out);
            let mut header = vec!["_id", "_index"];
            header.extend(columns.iter().copied());
            w.write_record(&header)?;
            for (d, flat) in docs.iter().zip(&flats) {
                let mut rec = vec![d.id.clone(), d.index.clone()];
                for c in &columns {
                    rec.push(match flat.iter().find(|(p, _)| p == c) {
                        Some((_, v)) => csv_cell(&flat_value(v)),
                        None => String::new(),
                    });
                }
                w.write_record(&rec)?;
            }
            w.flush()
        }
    }
}
