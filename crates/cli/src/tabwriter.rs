//! Go's `text/tabwriter` as docker configures it for its tables.

/// Go's `tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)` as docker uses it: a tab ends a cell,
/// a column is as wide as its widest cell plus 3 (at least 10), the last cell of a line is
/// not padded, and a column block ends at a line that has fewer cells.
pub fn tabwrite(text: &str) -> String {
    tabwrite_min(text, 10)
}

/// [`tabwrite`] with another minimum cell width (`docker top` uses 20).
pub fn tabwrite_min(text: &str, min: usize) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<Vec<usize>> = lines
        .iter()
        .map(|l| vec![0; l.len().saturating_sub(1)])
        .collect();
    let max_cols = lines.iter().map(|l| l.len()).max().unwrap_or(0);
    for col in 0..max_cols {
        let mut start = 0;
        while start < lines.len() {
            if lines[start].len() <= col + 1 {
                start += 1;
                continue;
            }
            let mut end = start;
            let mut w = 0;
            while end < lines.len() && lines[end].len() > col + 1 {
                w = w.max(lines[end][col].chars().count() + 3);
                end += 1;
            }
            let w = w.max(min);
            for row in widths.iter_mut().take(end).skip(start) {
                row[col] = w;
            }
            start = end;
        }
    }
    let mut out = String::new();
    for (line, width) in lines.iter().zip(&widths) {
        for (i, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if let Some(w) = width.get(i) {
                let n = cell.chars().count();
                out.extend(std::iter::repeat_n(' ', w.saturating_sub(n)));
            }
        }
        // Go's tabwriter trims nothing, but docker's rows never end in a tab; keep lines exact.
        out.push('\n');
    }
    out
}
