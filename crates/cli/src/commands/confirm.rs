//! docker's `[y/N]` question before a prune.

use anyhow::Result;

/// Asks on the terminal; anything but y/yes is a no. EOF is a no.
pub fn confirm(question: &str) -> Result<bool> {
    crate::out(&format!("{question} [y/N] "))?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let a = line.trim().to_lowercase();
    Ok(a == "y" || a == "yes")
}
