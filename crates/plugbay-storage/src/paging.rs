//! Listing pages for backends that walk their keys in order themselves
//! (memory, fs): prefix filter, delimiter grouping, page limits and
//! continuation tokens with S3 semantics.
//!
//! Tokens are `k:<key>` (resume after a key) or `p:<prefix>` (resume after a
//! common prefix and everything under it). They are opaque to callers.

use plugbay_core::{Error, Result};

use crate::types::{ListOptions, ListPage, ObjectMeta};

/// The default page size, S3's.
pub(crate) const DEFAULT_PAGE: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    Key(String),
    Prefix(String),
}

impl Cursor {
    fn encode(&self) -> String {
        match self {
            Cursor::Key(k) => format!("k:{k}"),
            Cursor::Prefix(p) => format!("p:{p}"),
        }
    }

    fn decode(token: &str) -> Result<Cursor> {
        if let Some(k) = token.strip_prefix("k:") {
            Ok(Cursor::Key(k.to_owned()))
        } else if let Some(p) = token.strip_prefix("p:") {
            Ok(Cursor::Prefix(p.to_owned()))
        } else {
            Err(Error::invalid_input("malformed list continuation token"))
        }
    }
}

/// Whether a walker should go on after an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Full,
}

/// Collects one page from keys offered in ascending byte order.
#[derive(Debug)]
pub(crate) struct PageBuilder {
    prefix: String,
    delimiter: Option<String>,
    resume: Option<Cursor>,
    limit: usize,
    count: usize,
    last: Option<Cursor>,
    has_more: bool,
    page: ListPage,
}

impl PageBuilder {
    pub(crate) fn new(prefix: &str, opts: &ListOptions, max_page: usize) -> Result<PageBuilder> {
        crate::Key::validate_prefix(prefix)?;
        let limit = match opts.max_keys {
            Some(0) => return Err(Error::invalid_input("max_keys must be at least 1")),
            Some(n) => n.min(max_page),
            None => DEFAULT_PAGE.min(max_page),
        };
        if opts.delimiter.as_deref() == Some("") {
            return Err(Error::invalid_input("the list delimiter must not be empty"));
        }
        let resume = match (&opts.continuation_token, &opts.start_after) {
            (Some(token), _) => Some(Cursor::decode(token)?),
            (None, Some(after)) => Some(Cursor::Key(after.clone())),
            (None, None) => None,
        };
        Ok(PageBuilder {
            prefix: prefix.to_owned(),
            delimiter: opts.delimiter.clone(),
            resume,
            limit,
            count: 0,
            last: None,
            has_more: false,
            page: ListPage::default(),
        })
    }

    /// Whether every key starting with `dir` (a directory's key prefix such
    /// as `a/b/`) is excluded by the prefix or the resume point, so a walker
    /// can skip the whole subtree.
    #[cfg_attr(not(feature = "fs"), allow(dead_code))]
    pub(crate) fn skips_subtree(&self, dir: &str) -> bool {
        if !(dir.starts_with(&self.prefix) || self.prefix.starts_with(dir)) {
            return true;
        }
        match &self.resume {
            None => false,
            Some(Cursor::Key(t)) => dir < t.as_str() && !t.starts_with(dir),
            Some(Cursor::Prefix(p)) => {
                dir.starts_with(p.as_str()) || (dir < p.as_str() && !p.starts_with(dir))
            }
        }
    }

    /// The common prefix every key under `dir` collapses into, if the
    /// delimiter occurs in `dir` after the listing prefix.
    pub(crate) fn group_of(&self, dir: &str) -> Option<String> {
        let delimiter = self.delimiter.as_deref()?;
        let rest = dir.strip_prefix(self.prefix.as_str())?;
        rest.find(delimiter)
            .map(|i| dir[..self.prefix.len() + i + delimiter.len()].to_owned())
    }

    fn before_resume(&self, key: &str) -> bool {
        match &self.resume {
            None => false,
            Some(Cursor::Key(t)) => key <= t.as_str(),
            Some(Cursor::Prefix(p)) => key <= p.as_str() || key.starts_with(p.as_str()),
        }
    }

    fn group_before_resume(&self, group: &str) -> bool {
        match &self.resume {
            None => false,
            Some(Cursor::Key(t)) => group < t.as_str() && !t.starts_with(group),
            Some(Cursor::Prefix(p)) => group <= p.as_str(),
        }
    }

    /// Offer a common prefix directly (a walker that found a directory it
    /// need not enter). Duplicates of the previous prefix are ignored.
    pub(crate) fn offer_group(&mut self, group: String) -> Flow {
        if self.group_before_resume(&group) || self.last == Some(Cursor::Prefix(group.clone())) {
            return Flow::Continue;
        }
        if self.count == self.limit {
            self.has_more = true;
            return Flow::Full;
        }
        self.page.common_prefixes.push(group.clone());
        self.last = Some(Cursor::Prefix(group));
        self.count += 1;
        Flow::Continue
    }

    /// Offer a key; `meta` is called only if the object lands on the page.
    pub(crate) fn offer(
        &mut self,
        key: &str,
        meta: impl FnOnce() -> Result<Option<ObjectMeta>>,
    ) -> Result<Flow> {
        if !key.starts_with(self.prefix.as_str()) {
            return Ok(Flow::Continue);
        }
        if let Some(group) = self.group_of(key) {
            return Ok(self.offer_group(group));
        }
        if self.before_resume(key) {
            return Ok(Flow::Continue);
        }
        if self.count == self.limit {
            self.has_more = true;
            return Ok(Flow::Full);
        }
        // A vanished object (deleted while walking) is simply not listed.
        if let Some(meta) = meta()? {
            self.page.objects.push(meta);
            self.last = Some(Cursor::Key(key.to_owned()));
            self.count += 1;
        }
        Ok(Flow::Continue)
    }

    pub(crate) fn finish(mut self) -> ListPage {
        if self.has_more {
            self.page.next_token = self.last.as_ref().map(Cursor::encode);
        }
        self.page
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;
    use crate::Key;

    fn page(keys: &[&str], prefix: &str, opts: &ListOptions) -> ListPage {
        let mut b = PageBuilder::new(prefix, opts, 1000).unwrap();
        for k in keys {
            let flow = b
                .offer(k, || Ok(Some(ObjectMeta::new(Key::new(*k).unwrap(), 0))))
                .unwrap();
            if flow == Flow::Full {
                break;
            }
        }
        b.finish()
    }

    fn names(p: &ListPage) -> Vec<&str> {
        p.objects.iter().map(|o| o.key.as_str()).collect()
    }

    #[test]
    fn groups_and_pages_like_s3() {
        let keys = ["a/1", "a/2", "b", "c/x/1", "c/y", "d"];
        let opts = ListOptions::new().delimiter("/").max_keys(2);
        let first = page(&keys, "", &opts);
        assert_eq!(first.common_prefixes, ["a/"]);
        assert_eq!(names(&first), ["b"]);
        let token = first.next_token.clone().unwrap();
        let second = page(&keys, "", &opts.clone().continuation_token(token));
        assert_eq!(second.common_prefixes, ["c/"]);
        assert_eq!(names(&second), ["d"]);
        assert_eq!(second.next_token, None);

        let nested = page(&keys, "c/", &ListOptions::new().delimiter("/"));
        assert_eq!(nested.common_prefixes, ["c/x/"]);
        assert_eq!(names(&nested), ["c/y"]);
    }

    #[test]
    fn resume_after_a_prefix_skips_its_keys() {
        let keys = ["a/1", "a/2", "b"];
        let opts = ListOptions::new().delimiter("/").max_keys(1);
        let first = page(&keys, "", &opts);
        assert_eq!(first.common_prefixes, ["a/"]);
        let second = page(
            &keys,
            "",
            &opts.clone().continuation_token(first.next_token.unwrap()),
        );
        assert_eq!(names(&second), ["b"]);
        assert!(second.common_prefixes.is_empty());
        assert_eq!(second.next_token, None);
    }

    #[test]
    fn start_after_and_bad_inputs() {
        let keys = ["a", "b", "c"];
        let after = page(&keys, "", &ListOptions::new().start_after("a"));
        assert_eq!(names(&after), ["b", "c"]);
        let bad_token = PageBuilder::new("", &ListOptions::new().continuation_token("zz"), 10);
        assert_eq!(bad_token.unwrap_err().kind(), ErrorKind::InvalidInput);
        let zero = PageBuilder::new("", &ListOptions::new().max_keys(0), 10);
        assert_eq!(zero.unwrap_err().kind(), ErrorKind::InvalidInput);
        let bad_prefix = PageBuilder::new("../", &ListOptions::new(), 10);
        assert_eq!(bad_prefix.unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn subtree_skipping() {
        let opts = ListOptions::new().continuation_token("k:m/5");
        let b = PageBuilder::new("", &opts, 10).unwrap();
        assert!(b.skips_subtree("a/"));
        assert!(!b.skips_subtree("m/"));
        assert!(!b.skips_subtree("z/"));
        let b = PageBuilder::new("q/", &ListOptions::new(), 10).unwrap();
        assert!(b.skips_subtree("a/"));
        assert!(!b.skips_subtree("q/"));
    }
}
