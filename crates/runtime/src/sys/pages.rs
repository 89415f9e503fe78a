//! Unmapping the clean file pages a long-lived process mapped once and no longer runs.
//!
//! A daemon's RSS after its start is mostly its own executable: while it initialises, each
//! page fault on the text maps a whole fault-around window (64 KiB) of page cache, so muelled
//! holds ~13 MiB of code it touched once and does not run while idle. Those pages are clean
//! and belong to the page cache; dropping this process's mappings of them (MADV_DONTNEED)
//! leaves the page cache as it was and the next use maps them again with a minor fault.

use std::io;

/// One mapping of /proc/self/smaps that may be unmapped: read-only, private, backed by a
/// file, and without a single page of its own (no copy-on-write copy a relocation or an
/// mprotect left behind, which MADV_DONTNEED would silently revert to the file's bytes).
#[derive(Debug, PartialEq, Eq)]
struct Clean {
    start: usize,
    len: usize,
}

/// A mapping being read from smaps: a candidate until its fields say otherwise.
struct Candidate {
    mapping: Clean,
    resident: bool,
    /// Set by an `Anonymous: 0 kB` line; a mapping without one is left alone.
    no_own_pages: bool,
}

/// The mappings of `smaps` text that [`release_file_pages`] drops.
fn clean_file_mappings(smaps: &str) -> Vec<Clean> {
    let mut out = Vec::new();
    let mut current: Option<Candidate> = None;
    let finish = |current: Option<Candidate>, out: &mut Vec<Clean>| {
        if let Some(c) = current {
            if c.resident && c.no_own_pages {
                out.push(c.mapping);
            }
        }
    };
    for line in smaps.lines() {
        let mut words = line.split_ascii_whitespace();
        let Some(first) = words.next() else { continue };
        if let Some((lo, hi)) = first.split_once('-') {
            finish(current.take(), &mut out);
            let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            else {
                continue;
            };
            let perms = words.next().unwrap_or("").as_bytes();
            let inode = words.nth(2).unwrap_or("0");
            let path = words.next().unwrap_or("");
            let read_only_private =
                perms.len() == 4 && perms[0] == b'r' && perms[1] == b'-' && perms[3] == b'p';
            if read_only_private && inode != "0" && path.starts_with('/') && hi > lo {
                current = Some(Candidate {
                    mapping: Clean {
                        start: lo,
                        len: hi - lo,
                    },
                    resident: false,
                    no_own_pages: false,
                });
            }
            continue;
        }
        let Some(c) = current.as_mut() else { continue };
        let value = words.next().and_then(|v| v.parse::<u64>().ok());
        match first {
            "Rss:" => c.resident = value.is_some_and(|v| v > 0),
            "Anonymous:" => c.no_own_pages = value == Some(0),
            _ => {}
        }
    }
    finish(current, &mut out);
    out
}

/// Drops this process's mappings of the clean pages of its read-only file mappings (its
/// executable's code and constants, the shared libraries'), keeping the page cache; returns
/// the bytes of mappings advised. Only for a process at rest: whatever runs next faults its
/// pages back in.
pub fn release_file_pages() -> io::Result<usize> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut advised = 0;
    for m in clean_file_mappings(&smaps) {
        // SAFETY: the range is a whole mapping of this process that is read-only, private,
        // file-backed and has no anonymous (copy-on-write) page, as /proc/self/smaps said
        // just now; nothing in this process makes such a mapping writable later (the dynamic
        // linker's mprotects are done before main). Dropping its pages only makes the next
        // access fault them in again from the same file, so no byte that any code reads
        // changes. A mapping unmapped meanwhile makes madvise fail with ENOMEM, not harm.
        let r = unsafe { libc::madvise(m.start as *mut libc::c_void, m.len, libc::MADV_DONTNEED) };
        if r == 0 {
            advised += m.len;
        }
    }
    Ok(advised)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
559e66e29000-559e671cb000 r--p 00000000 fe:00 5308420                    /usr/bin/muelled
Size:               3720 kB
Rss:                1692 kB
Anonymous:             0 kB
559e671cb000-559e6811e000 r-xp 003a1000 fe:00 5308420                    /usr/bin/muelled
Rss:               11152 kB
Anonymous:             0 kB
559e6811e000-559e681b2000 r--p 012f3000 fe:00 5308420                    /usr/bin/muelled
Rss:                 592 kB
Anonymous:           592 kB
559e681b2000-559e681b8000 rw-p 01386000 fe:00 5308420                    /usr/bin/muelled
Rss:                  24 kB
Anonymous:            24 kB
7f0000000000-7f0000001000 r--p 00000000 fe:00 77                         /usr/lib/libc.so.6
Rss:                   0 kB
Anonymous:             0 kB
7f0000001000-7f0000100000 r-xp 00001000 fe:00 77                         /usr/lib/libc.so.6
Rss:                1000 kB
Anonymous:             0 kB
7f1000000000-7f1000021000 rw-p 00000000 00:00 0                          [heap]
Rss:                 132 kB
Anonymous:           132 kB
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   8 kB
Anonymous:             0 kB
";

    #[test]
    fn only_clean_read_only_file_mappings_with_pages_are_taken() {
        let got = clean_file_mappings(SMAPS);
        assert_eq!(
            got,
            vec![
                Clean {
                    start: 0x559e66e29000,
                    len: 0x559e671cb000 - 0x559e66e29000
                },
                Clean {
                    start: 0x559e671cb000,
                    len: 0x559e6811e000 - 0x559e671cb000
                },
                Clean {
                    start: 0x7f0000001000,
                    len: 0x7f0000100000 - 0x7f0000001000
                },
            ]
        );
    }

    #[test]
    fn a_mapping_whose_fields_are_cut_short_is_left_alone() {
        // No Anonymous line: whether it has copied pages is unknown, so it stays.
        let smaps =
            "7f0000001000-7f0000100000 r-xp 00001000 fe:00 77 /usr/lib/libc.so.6\nRss: 4 kB\n";
        assert!(clean_file_mappings(smaps).is_empty());
    }

    fn rss_file_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("RssFile:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn released_pages_leave_the_rss_and_come_back_when_used() {
        let before = rss_file_kib();
        let advised = release_file_pages().expect("reading /proc/self/smaps");
        let after = rss_file_kib();
        assert!(
            advised > 0,
            "a test binary has read-only file mappings with pages"
        );
        assert!(
            after < before,
            "RssFile {before} kB before, {after} kB after"
        );
        // Code, constants and libc run again after their pages were dropped, and give the
        // same answers.
        let s: String = (0..1000).map(|i| format!("{i:x}")).collect();
        assert_eq!(s.len(), 16 + 240 * 2 + 744 * 3);
        assert!(rss_file_kib() > after, "the code that ran is mapped again");
    }
}
