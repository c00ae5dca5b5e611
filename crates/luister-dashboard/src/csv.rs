//! CSV export of a report table, safe to open in a spreadsheet.
//!
//! A cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or
//! a carriage return: OWASP's list) gets a leading `'`, so a page path or search term
//! typed by a visitor can never run as a formula on a staff member's machine. Numbers are
//! written plainly (with a `.` decimal point) and are never prefixed.

/// One cell of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
}

/// A table to export.
#[derive(Debug, Clone, Default)]
pub struct CsvTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn text_cell(text: &str) -> String {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let text = if risky {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r', ';']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn number_cell(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl CsvTable {
    /// The file's text: a header line, then one line per row, CRLF as RFC 4180 says.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| text_cell(h)).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(t) => text_cell(t),
                    Cell::Number(v) => number_cell(*v),
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        let table = CsvTable {
            header: vec!["page".into(), "visitors".into()],
            rows: vec![
                vec![
                    Cell::Text("=HYPERLINK(\"http://x\")".into()),
                    Cell::Number(3.0),
                ],
                vec![Cell::Text("+31 is a prefix".into()), Cell::Number(-2.5)],
                vec![Cell::Text("@SUM(A1)".into()), Cell::Number(0.0)],
                vec![Cell::Text("/schulden, hulp".into()), Cell::Number(12.0)],
            ],
        };
        let csv = table.render();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "page,visitors");
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"http://x\"\")\",3");
        assert_eq!(lines[2], "'+31 is a prefix,-2.5");
        assert_eq!(lines[3], "'@SUM(A1),0");
        assert_eq!(lines[4], "\"/schulden, hulp\",12");
    }
}
