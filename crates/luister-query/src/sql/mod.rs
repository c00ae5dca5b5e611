//! The only place in Luister's query layer that writes SQL.
//!
//! Every statement is assembled in a [`Sql`] from `&'static str` pieces (keywords and
//! column expressions chosen by enums) and bound values ([`Param`]); no runtime text
//! ever becomes SQL text. Values are escaped by the `clickhouse` crate's client-side
//! binding. Everything emitted must run on ClickHouse 18.16 and on current releases:
//! no `toStartOfInterval`, `toStartOfWeek`, `{x:T}` parameters, `Map`, `WITH FILL`,
//! window functions, `neighbor` or `x IN [array]` (use `has(?, x)`); joins name their
//! strictness (`ALL`) and alias their subquery, and never use `ANY INNER JOIN` (its meaning
//! changed after 18.x).

pub mod engagement;
pub(crate) mod filters;
pub mod funnel;
pub mod goals;
pub mod impact;
pub mod network;
pub mod rollup;
pub(crate) mod scope;
pub mod search;
pub mod stats;

use serde::Serialize;

/// A value bound to one `?` of a statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Param {
    Str(String),
    Strs(Vec<String>),
    U32(u32),
    U64(u64),
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Str(v.into())
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Str(v)
    }
}
impl From<Vec<String>> for Param {
    fn from(v: Vec<String>) -> Self {
        Param::Strs(v)
    }
}
impl From<u32> for Param {
    fn from(v: u32) -> Self {
        Param::U32(v)
    }
}
impl From<u64> for Param {
    fn from(v: u64) -> Self {
        Param::U64(v)
    }
}

/// A statement (or fragment) with `?` placeholders and the values bound to them, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    text: String,
    params: Vec<Param>,
}

impl Sql {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends fixed SQL text. Only `'static` text is accepted, so user input cannot end up here.
    pub fn push(&mut self, text: &'static str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a `?` bound to `value`.
    pub fn bind(&mut self, value: impl Into<Param>) -> &mut Self {
        self.text.push('?');
        self.params.push(value.into());
        self
    }

    /// Appends another fragment with its bound values.
    pub fn append(&mut self, other: &Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.params.extend(other.params.iter().cloned());
        self
    }

    /// Appends fragments separated by `sep`.
    pub fn join(&mut self, parts: &[Sql], sep: &'static str) -> &mut Self {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.push(sep);
            }
            self.append(part);
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The statement with `?` placeholders (what golden tests compare).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// A `clickhouse` query with every value bound (escaped client-side by the crate).
    pub fn to_query(&self, client: &clickhouse::Client) -> clickhouse::query::Query {
        self.params
            .iter()
            .fold(client.query(&self.text), |q, p| match p {
                Param::Str(v) => q.bind(v),
                Param::Strs(v) => q.bind(v),
                Param::U32(v) => q.bind(v),
                Param::U64(v) => q.bind(v),
            })
    }

    /// The statement with values inlined as the client would send it (for the chDB check and logs).
    pub fn render(&self) -> String {
        self.to_query(&clickhouse::Client::default())
            .sql_display()
            .to_string()
    }
}

/// Shorthand for a fragment of fixed text.
pub(crate) fn lit(text: &'static str) -> Sql {
    let mut sql = Sql::new();
    sql.push(text);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_escape_quotes_and_question_marks() {
        let mut sql = Sql::new();
        sql.push("SELECT 1 WHERE pathname = ")
            .bind("/a'b?c\\")
            .push(" AND has(")
            .bind(vec!["x'".to_string()])
            .push(", name)");
        assert_eq!(sql.text(), "SELECT 1 WHERE pathname = ? AND has(?, name)");
        assert_eq!(
            sql.render(),
            r"SELECT 1 WHERE pathname = '/a\'b?c\\' AND has(['x\''], name)"
        );
    }

    #[test]
    fn join_and_append_keep_params_in_order() {
        let mut a = Sql::new();
        a.push("a = ").bind(1u32);
        let mut b = Sql::new();
        b.push("b = ").bind("two");
        let mut all = Sql::new();
        all.join(&[a, b], " AND ");
        assert_eq!(all.text(), "a = ? AND b = ?");
        assert_eq!(all.params(), &[Param::U32(1), Param::Str("two".into())]);
    }
}
