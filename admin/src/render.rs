//! Text for people: UTC times, aligned tables, truncated cells.

use std::time::{Duration, UNIX_EPOCH};

/// Unix milliseconds as RFC 3339 UTC with milliseconds
/// (`2026-11-21T10:00:00.250Z`).
pub fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// Unix milliseconds as a UTC time for a table (`2026-11-21 10:00:00`).
pub fn utc(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms))
        .to_string()
        .replacen('T', " ", 1)
        .trim_end_matches('Z')
        .to_string()
}

/// Unix milliseconds as `2026-11-21 10:00:00 UTC (1795255200000)`.
pub fn utc_and_ms(ms: u64) -> String {
    format!("{} UTC ({ms})", utc(ms))
}

/// At most `max` characters, the cut marked with `…`; line breaks become
/// spaces so a cell stays on its row.
pub fn truncate(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Rows under a header, each column as wide as its widest cell, two spaces
/// apart; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                let pad = widths[i] - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// `name  value` lines, names aligned.
pub fn fields(pairs: &[(String, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k:<width$}  {v}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(rfc3339(1_795_255_200_250), "2026-11-21T10:00:00.250Z");
        assert_eq!(utc(1_795_255_200_250), "2026-11-21 10:00:00");
    }

    #[test]
    fn tables_align_and_cells_are_cut() {
        let rows = vec![
            vec!["s-1".to_string(), "unknown".to_string(), "x".to_string()],
            vec![
                "serial-22".to_string(),
                "failed".to_string(),
                "".to_string(),
            ],
        ];
        assert_eq!(
            table(&["SERIAL", "STATUS", "NOTE"], &rows),
            "SERIAL     STATUS   NOTE\ns-1        unknown  x\nserial-22  failed\n"
        );
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("a\nb", 4), "a b");
    }
}
