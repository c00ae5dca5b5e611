//! Charts as inline SVG: a line chart (with an optional comparison line), a sparkline,
//! horizontal bars (funnels) and the little share bar of a table row.
//!
//! Each chart carries a `<title>` and is `role="img"`; the page puts a table with the same
//! numbers next to it (the chart is a picture of the table, never the only copy). No
//! inline styles: colours come from classes in the stylesheet, so the CSP can forbid them.

use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// Escapes text for SVG/HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A round upper bound for the y axis (1, 2, 5 × 10ⁿ) at or above `max`.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|f| f * magnitude)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * magnitude)
}

fn points(values: &[f64], ceiling: f64) -> String {
    let n = values.len().max(2) - 1;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        let x = LEFT + plot_w * i as f64 / n as f64;
        let y = TOP + plot_h * (1.0 - (v.max(0.0) / ceiling));
        let _ = write!(out, "{}{x:.1},{y:.1}", if i == 0 { "" } else { " " });
    }
    out
}

/// A line chart of `values` over `labels`; `compare` is drawn dashed behind it, and each
/// marker (bucket index, text) as a vertical line with its text as a tooltip.
///
/// `axis_label` formats y-axis values (the caller's number format).
pub fn line(
    id: &str,
    title: &str,
    labels: &[String],
    values: &[f64],
    compare: Option<&[f64]>,
    axis_label: &dyn Fn(f64) -> String,
    markers: &[(usize, String)],
) -> String {
    let max = values
        .iter()
        .chain(compare.unwrap_or(&[]))
        .cloned()
        .fold(0.0, f64::max);
    let ceiling = nice_ceiling(max);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title" focusable="false"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
    for step in 0..=4 {
        let v = ceiling * step as f64 / 4.0;
        let y = TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - step as f64 / 4.0);
        let class = if step == 0 { "axis" } else { "grid" };
        let _ = write!(
            svg,
            r#"<line class="{class}" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="label" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&axis_label(v))
        );
    }
    let every = (labels.len() / 6).max(1);
    let n = labels.len().max(2) - 1;
    for (i, label) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let x = LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / n as f64;
        let _ = write!(
            svg,
            r#"<text class="label" x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
            HEIGHT - 8.0,
            escape(label)
        );
    }
    for (index, text) in markers {
        let x = LEFT + (WIDTH - LEFT - RIGHT) * *index as f64 / n as f64;
        let _ = write!(
            svg,
            r#"<line class="marker" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{}"><title>{}</title></line>"#,
            HEIGHT - BOTTOM,
            escape(text)
        );
    }
    if let Some(compare) = compare.filter(|c| !c.is_empty()) {
        let _ = write!(
            svg,
            r#"<polyline class="series-compare" points="{}"/>"#,
            points(compare, ceiling)
        );
    }
    if !values.is_empty() {
        let _ = write!(
            svg,
            r#"<polyline class="series" points="{}"/>"#,
            points(values, ceiling)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A small line without axes, for a row or a tile; `label` says what it shows.
pub fn sparkline(label: &str, values: &[f64]) -> String {
    let max = nice_ceiling(values.iter().cloned().fold(0.0, f64::max));
    let n = values.len().max(2) - 1;
    let pts: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                100.0 * i as f64 / n as f64,
                28.0 - 26.0 * v.max(0.0) / max
            )
        })
        .collect();
    format!(
        r#"<svg class="luister-spark" viewBox="0 0 100 30" role="img" aria-label="{}" focusable="false"><polyline class="series" points="{}"/></svg>"#,
        escape(label),
        pts.join(" ")
    )
}

/// One horizontal bar per row, length by value (funnel steps); `value_text` is printed at the bar.
pub fn bars(id: &str, title: &str, rows: &[(String, f64, String)]) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max).max(1e-9);
    let row_h = 44.0;
    let height = row_h * rows.len() as f64 + 8.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{id}-title" focusable="false"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
    for (i, (label, value, value_text)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let w = (WIDTH - 8.0) * (value.max(0.0) / max);
        let _ = write!(
            svg,
            r#"<text class="label" x="4" y="{:.1}">{}</text><rect class="bar-rest" x="4" y="{:.1}" width="{:.1}" height="16"/><rect class="bar" x="4" y="{:.1}" width="{w:.1}" height="16"/><text class="value" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            y + 12.0,
            escape(label),
            y + 18.0,
            WIDTH - 8.0,
            y + 18.0,
            WIDTH - 6.0,
            y + 12.0,
            escape(value_text)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The share bar under a table row's label: `share` from 0 to 1. Decorative (the number is in the row).
pub fn share_bar(share: f64) -> String {
    let w = (share.clamp(0.0, 1.0) * 100.0).max(0.5);
    format!(
        r#"<svg class="luister-bar" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true" focusable="false"><rect class="bar" x="0" y="0" width="{w:.1}" height="6"/></svg>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let svg = line(
            "c",
            "<script>alert(1)</script>",
            &["a&b".into()],
            &[1.0],
            None,
            &|v| v.to_string(),
            &[(0, "<b>".into())],
        );
        assert!(!svg.contains("<script>") && !svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;") && svg.contains("a&amp;b"));
        assert!(!svg.contains("style"));
    }

    #[test]
    fn axis_ceiling_is_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(2400.0), 2500.0);
    }

    #[test]
    fn line_points_span_the_plot() {
        let svg = line("c", "t", &[], &[0.0, 10.0], None, &|v| v.to_string(), &[]);
        // First point on the x axis at the left, last at the top right.
        assert!(
            svg.contains(&format!(
                r#"points="{LEFT:.1},{:.1} {:.1},{TOP:.1}""#,
                HEIGHT - BOTTOM,
                WIDTH - RIGHT
            )),
            "{svg}"
        );
    }

    #[test]
    fn bars_scale_to_the_largest() {
        let svg = bars(
            "f",
            "t",
            &[
                ("a".into(), 100.0, "100".into()),
                ("b".into(), 50.0, "50".into()),
            ],
        );
        assert!(svg.contains(&format!(r#"width="{:.1}""#, WIDTH - 8.0)));
        assert!(svg.contains(&format!(r#"width="{:.1}""#, (WIDTH - 8.0) / 2.0)));
    }
}
