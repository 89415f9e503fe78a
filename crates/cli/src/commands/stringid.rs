//! docker's `stringid`: the 12-character ids that listings show.

/// `sha256:5e72c6dd051f…` → `5e72c6dd051f` (docker's `stringid.TruncateID`).
pub fn short_id(id: &str) -> &str {
    let id = id.split_once(':').map_or(id, |(_, hex)| hex);
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(short_id("sha256:5e72c6dd051ffba444c3349c"), "5e72c6dd051f");
        assert_eq!(short_id("<missing>"), "<missing>");
    }
}
