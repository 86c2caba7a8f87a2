//! Listing by walking the directory tree in key order.
//!
//! Sorting each folder's entries by name, with folders compared as
//! `name/`, visits keys in exactly ascending byte order (so `a.txt` comes
//! before `a/b`), which lets the walk stop as soon as a page is full and
//! skip whole subtrees before the continuation point.

use std::io;
use std::path::Path;

use plugbay_core::Result;

use super::paths::{META_DIR, TMP_DIR, escapes, io_error};
use super::sidecar::list_meta;
use crate::key::Key;
use crate::paging::{DEFAULT_PAGE, Flow, PageBuilder};
use crate::types::{ListOptions, ListPage};

/// One page of keys under `prefix` (blocking).
pub(super) fn list_page(root: &Path, prefix: &str, opts: &ListOptions) -> Result<ListPage> {
    let mut page = PageBuilder::new(prefix, opts, DEFAULT_PAGE)?;
    // Start at the deepest folder the prefix fully names.
    let base = prefix.rfind('/').map_or("", |i| &prefix[..=i]);
    let mut dir = root.to_path_buf();
    dir.extend(base.split('/').filter(|s| !s.is_empty()));
    if !base.is_empty() {
        match std::fs::canonicalize(&dir) {
            Ok(real) if real.starts_with(root) => {}
            Ok(_) => return Err(escapes("list", prefix)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(page.finish());
            }
            Err(e) => return Err(io_error(e, "list", prefix)),
        }
        let first = base.split('/').next().unwrap_or_default();
        if first == TMP_DIR || first == META_DIR {
            return Ok(page.finish());
        }
    }
    walk(&mut page, root, &dir, base)?;
    Ok(page.finish())
}

struct Entry {
    sort_name: String,
    name: String,
    is_dir: bool,
}

fn sorted_entries(dir: &Path, at_root: bool, prefix: &str) -> Result<Vec<Entry>> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(io_error(e, "list", prefix)),
    };
    let mut entries = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| io_error(e, "list", prefix))?;
        // Names that are not UTF-8 cannot be keys.
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if at_root && (name == TMP_DIR || name == META_DIR) {
            continue;
        }
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        // Symlinks are not followed while listing: one could lead outside
        // the root or into a cycle.
        if file_type.is_dir() {
            entries.push(Entry {
                sort_name: format!("{name}/"),
                name,
                is_dir: true,
            });
        } else if file_type.is_file() {
            entries.push(Entry {
                sort_name: name.clone(),
                name,
                is_dir: false,
            });
        }
    }
    entries.sort_unstable_by(|a, b| a.sort_name.cmp(&b.sort_name));
    Ok(entries)
}

fn walk(page: &mut PageBuilder, root: &Path, dir: &Path, dir_key: &str) -> Result<Flow> {
    for entry in sorted_entries(dir, dir_key.is_empty(), dir_key)? {
        let path = dir.join(&entry.name);
        if entry.is_dir {
            let sub = format!("{dir_key}{}", entry.sort_name);
            if Key::validate_prefix(&sub).is_err() || page.skips_subtree(&sub) {
                continue;
            }
            if let Some(group) = page.group_of(&sub) {
                // A folder left empty (by a crash) holds no key, so it
                // must not show up as a common prefix.
                if has_file(&path) && page.offer_group(group) == Flow::Full {
                    return Ok(Flow::Full);
                }
                continue;
            }
            if walk(page, root, &path, &sub)? == Flow::Full {
                return Ok(Flow::Full);
            }
        } else {
            let Ok(key) = Key::new(format!("{dir_key}{}", entry.name)) else {
                continue;
            };
            let flow = page.offer(key.as_str(), || list_meta(root, &key, &path))?;
            if flow == Flow::Full {
                return Ok(Flow::Full);
            }
        }
    }
    Ok(Flow::Continue)
}

fn has_file(dir: &Path) -> bool {
    let Ok(read) = std::fs::read_dir(dir) else {
        return false;
    };
    read.flatten().any(|entry| match entry.file_type() {
        Ok(t) if t.is_file() => true,
        Ok(t) if t.is_dir() => has_file(&entry.path()),
        _ => false,
    })
}
