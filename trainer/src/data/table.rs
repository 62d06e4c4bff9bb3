//! Delimited tables read by header name (column order changes between dataset releases).

use std::collections::HashMap;
use std::path::Path;

use super::{read_text, DataError};

/// A table with a header row; rows that do not parse are kept aside as errors.
pub struct Table {
    columns: HashMap<String, usize>,
    pub rows: Vec<Row>,
    /// (1-based line, message) of rows that could not be read.
    pub bad_rows: Vec<(usize, String)>,
}

/// One row of a [`Table`].
pub struct Row {
    /// 1-based line number in the file.
    pub line: usize,
    fields: Vec<String>,
}

/// Why text is not a table with a header row.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The header row does not parse.
    #[error("cannot read the header row: {0}")]
    Header(csv::Error),
    /// There is no header row.
    #[error("the file is empty or has no header row")]
    NoHeader,
}

impl Table {
    /// Reads a CSV file (comma, quotes allowed) with a header row.
    pub fn csv(path: &Path) -> Result<Self, DataError> {
        Self::read(path, b',')
    }

    /// Reads a file with a header row and the given delimiter.
    pub fn read(path: &Path, delimiter: u8) -> Result<Self, DataError> {
        let text = read_text(path)?;
        Self::parse(&text, delimiter).map_err(|e| DataError::layout(path, e.to_string()))
    }

    /// Parses text with a header row.
    pub fn parse(text: &str, delimiter: u8) -> Result<Self, TableError> {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(text.as_bytes());
        let headers = rdr.headers().map_err(TableError::Header)?.clone();
        if headers.iter().all(|h| h.trim().is_empty()) {
            return Err(TableError::NoHeader);
        }
        let columns: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_string(), i))
            .collect();
        let width = headers.len();
        let mut rows = Vec::new();
        let mut bad_rows = Vec::new();
        for rec in rdr.records() {
            match rec {
                Ok(r) => {
                    let line = r.position().map(|p| p.line() as usize).unwrap_or(0);
                    if r.iter().all(|f| f.trim().is_empty()) {
                        continue;
                    }
                    // A trailing empty column (e.g. `H002,COPD4,`) is fine; missing columns are not.
                    if r.len() < width && r.len() + 1 != width {
                        bad_rows.push((
                            line,
                            format!("{} fields where the header has {width}", r.len()),
                        ));
                        continue;
                    }
                    rows.push(Row {
                        line,
                        fields: r.iter().map(|s| s.to_string()).collect(),
                    });
                }
                Err(e) => {
                    let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                    bad_rows.push((line, e.to_string()));
                }
            }
        }
        Ok(Self {
            columns,
            rows,
            bad_rows,
        })
    }

    /// Whether the table has a column with this name.
    pub fn has(&self, column: &str) -> bool {
        self.columns.contains_key(column)
    }

    /// The header's column names.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.keys().map(|s| s.as_str())
    }

    /// Fails unless every named column exists.
    pub fn require(&self, path: &Path, columns: &[&str]) -> Result<(), DataError> {
        let missing: Vec<&str> = columns.iter().copied().filter(|c| !self.has(c)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DataError::layout(
                path,
                format!(
                    "missing column(s) {}; is this the dataset's original file?",
                    missing.join(", ")
                ),
            ))
        }
    }

    /// The value of `column` in `row` (empty when the column or field is absent).
    pub fn get<'a>(&self, row: &'a Row, column: &str) -> &'a str {
        self.columns
            .get(column)
            .and_then(|&i| row.fields.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    }
}

/// Splits a headerless text file into non-empty lines of fields separated by tabs or runs of
/// whitespace (ICBHI's files use either, depending on the copy).
pub fn whitespace_rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split_whitespace().collect::<Vec<_>>()))
        .filter(|(_, f)| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_by_header_name_and_reports_bad_rows() {
        let t = Table::parse("b,a\n1,x\n\n2\n\"3\",\"y,z\"\n", b',').unwrap();
        // "2" alone has one field where the header has two: tolerated as one trailing empty column.
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.get(&t.rows[0], "a"), "x");
        assert_eq!(t.get(&t.rows[1], "a"), "");
        assert_eq!(t.get(&t.rows[2], "a"), "y,z");
        assert_eq!(t.get(&t.rows[2], "missing"), "");
        assert_eq!(t.bad_rows.len(), 0);
    }

    #[test]
    fn too_few_fields_is_a_bad_row() {
        let t = Table::parse("a,b,c\n1\n1,2,3\n", b',').unwrap();
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.bad_rows.len(), 1);
        assert_eq!(t.bad_rows[0].0, 2);
    }
}
