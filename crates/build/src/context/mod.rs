// LEAD-STUB (uncommitted)
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ContextError(pub String);
impl ContextError {
    pub fn kind(&self) -> muelle_types::ErrorKind {
        muelle_types::ErrorKind::InvalidParameter
    }
}
pub mod ignore {
    pub struct IgnoreMatcher;
    impl IgnoreMatcher {
        pub fn parse(_t: &str) -> Result<IgnoreMatcher, super::ContextError> {
            Ok(IgnoreMatcher)
        }
        pub fn empty() -> IgnoreMatcher {
            IgnoreMatcher
        }
    }
}
pub mod receive {
    pub fn extract_context(
        _i: &mut dyn std::io::Read,
        _d: &std::path::Path,
    ) -> Result<(), super::ContextError> {
        Ok(())
    }
}
pub mod select {
    use std::path::Path;
    pub struct Selection;
    pub fn select(
        _root: &Path,
        _s: &[String],
        _i: &super::ignore::IgnoreMatcher,
    ) -> Result<Selection, super::ContextError> {
        Ok(Selection)
    }
    impl Selection {
        pub fn content_hash(&self) -> String {
            String::new()
        }
        pub fn is_empty(&self) -> bool {
            true
        }
    }
    pub struct CopyOptions {
        pub dest: String,
        pub chown: Option<(u32, u32)>,
        pub chmod: Option<u32>,
        pub add_extract: bool,
        pub mtime_now: bool,
    }
    pub fn write_copy_tar(
        _s: &Selection,
        _o: &CopyOptions,
        _d: bool,
        _out: &mut dyn std::io::Write,
    ) -> Result<(), super::ContextError> {
        Ok(())
    }
    pub fn write_heredoc_tar(
        _n: &str,
        _c: &[u8],
        _o: &CopyOptions,
        _d: bool,
        _out: &mut dyn std::io::Write,
    ) -> Result<(), super::ContextError> {
        Ok(())
    }
}
pub mod remote {
    use std::path::{Path, PathBuf};
    pub struct Fetched {
        pub path: PathBuf,
        pub name: String,
        pub digest: String,
    }
    pub fn fetch(_u: &str, _c: Option<&str>, _i: &Path) -> Result<Fetched, super::ContextError> {
        Err(super::ContextError("stub".into()))
    }
}
