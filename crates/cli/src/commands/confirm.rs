//! What docker's prune commands share: the `[y/N]` question before, and the report after
//! (a section per kind of object deleted, then the space reclaimed).

use anyhow::Result;

/// Asks on the terminal; anything but y/yes is a no. EOF is a no.
pub fn confirm(question: &str) -> Result<bool> {
    crate::out(&format!("{question} [y/N] "))?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let a = line.trim().to_lowercase();
    Ok(a == "y" || a == "yes")
}

/// Appends `heading` and one line per deleted object, then a blank line; nothing when none
/// was deleted.
pub fn deleted_section(text: &mut String, heading: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    text.push_str(heading);
    text.push('\n');
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    text.push('\n');
}

/// The report's last line.
pub fn reclaimed_line(bytes: f64) -> String {
    format!(
        "Total reclaimed space: {}\n",
        crate::units::human_size(bytes)
    )
}
