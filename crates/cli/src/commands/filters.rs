//! `--filter k=v` as the API takes it (`filters={"k":{"v":true}}`), for every listing and
//! prune command.

use anyhow::{bail, Result};

/// `--filter k=v` (repeatable) → the API's `{"k":{"v":true}}`.
pub fn filters_json(filters: &[String]) -> Result<Option<String>> {
    if filters.is_empty() {
        return Ok(None);
    }
    let mut map: serde_json::Map<String, serde_json::Value> = serde_json::Map::new();
    for f in filters {
        let Some((k, v)) = f.split_once('=') else {
            bail!("bad format of filter (expected name=value)");
        };
        let entry = map
            .entry(k.trim().to_lowercase())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let Some(m) = entry.as_object_mut() {
            m.insert(v.to_owned(), serde_json::Value::Bool(true));
        }
    }
    Ok(Some(serde_json::Value::Object(map).to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(filters_json(&[]).unwrap(), None);
        let f = filters_json(&["dangling=true".into(), "label=a=b".into(), "label=c".into()])
            .unwrap()
            .unwrap();
        assert_eq!(
            f,
            r#"{"dangling":{"true":true},"label":{"a=b":true,"c":true}}"#
        );
        assert!(filters_json(&["nonsense".into()]).is_err());
    }
}
