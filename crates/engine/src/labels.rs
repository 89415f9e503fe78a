//! Docker's `label` filters (`key`, `key=value`), the one matching rule for container
//! listing and pruning and for image pruning.

use std::collections::BTreeMap;

/// Whether `labels` has `key`, with `value` when one is given.
pub fn has_label(labels: &BTreeMap<String, String>, key: &str, value: Option<&str>) -> bool {
    labels
        .get(key)
        .is_some_and(|v| value.is_none_or(|want| v == want))
}

/// Whether `labels` satisfies every filter of the `key` / `key=value` form.
pub fn labels_match(labels: &BTreeMap<String, String>, filters: &[String]) -> bool {
    filters.iter().all(|f| match f.split_once('=') {
        Some((k, v)) => has_label(labels, k, Some(v)),
        None => has_label(labels, f, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values() {
        let l = BTreeMap::from([("a".to_string(), "1".to_string())]);
        assert!(has_label(&l, "a", None));
        assert!(has_label(&l, "a", Some("1")));
        assert!(!has_label(&l, "a", Some("2")));
        assert!(!has_label(&l, "b", None));
        assert!(labels_match(&l, &["a".into(), "a=1".into()]));
        assert!(!labels_match(&l, &["a=2".into()]));
        assert!(labels_match(&l, &[]));
    }
}
