//! What the container store finds without walking every record: the ID of each name, and
//! the containers made from each image. Derived from the records (rebuilt from them at
//! open) and changed in the same critical section as the map of records, so it never says
//! anything a walk over the records would not.

use std::collections::{BTreeSet, HashMap};

/// Names and image users of the containers in the store.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Index {
    /// Name (without `/`) → container ID.
    names: HashMap<String, String>,
    /// Image ID (`sha256:...`) → the containers made from it.
    image_users: HashMap<String, BTreeSet<String>>,
}

impl Index {
    /// Built from every `(id, name, image_id)` of a store.
    #[cfg(test)]
    pub(super) fn of<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Self {
        let mut index = Index::default();
        for (id, name, image_id) in entries {
            index.add(id, name, image_id);
        }
        index
    }

    /// The container holding `name`.
    pub(super) fn id_of_name(&self, name: &str) -> Option<&str> {
        self.names.get(name).map(String::as_str)
    }

    /// The containers made from `image_id`.
    pub(super) fn users_of_image(&self, image_id: &str) -> impl Iterator<Item = &str> {
        self.image_users
            .get(image_id)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    pub(super) fn add(&mut self, id: &str, name: &str, image_id: &str) {
        self.names.insert(name.to_string(), id.to_string());
        if !image_id.is_empty() {
            self.image_users
                .entry(image_id.to_string())
                .or_default()
                .insert(id.to_string());
        }
    }

    pub(super) fn remove(&mut self, id: &str, name: &str, image_id: &str) {
        if self.names.get(name).is_some_and(|i| i == id) {
            self.names.remove(name);
        }
        if let Some(users) = self.image_users.get_mut(image_id) {
            users.remove(id);
            if users.is_empty() {
                self.image_users.remove(image_id);
            }
        }
    }

    pub(super) fn rename(&mut self, id: &str, old: &str, new: &str) {
        if self.names.get(old).is_some_and(|i| i == id) {
            self.names.remove(old);
        }
        self.names.insert(new.to_string(), id.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_create_rename_remove() {
        let mut ix = Index::default();
        ix.add("a1", "web", "sha256:x");
        ix.add("b2", "db", "sha256:x");
        assert_eq!(ix.id_of_name("web"), Some("a1"));
        assert_eq!(
            ix.users_of_image("sha256:x").collect::<Vec<_>>(),
            ["a1", "b2"]
        );
        ix.rename("a1", "web", "front");
        assert_eq!(ix.id_of_name("web"), None);
        assert_eq!(ix.id_of_name("front"), Some("a1"));
        ix.remove("a1", "front", "sha256:x");
        assert_eq!(ix.id_of_name("front"), None);
        assert_eq!(ix.users_of_image("sha256:x").collect::<Vec<_>>(), ["b2"]);
        ix.remove("b2", "db", "sha256:x");
        assert_eq!(ix, Index::default());
    }
}
