//! Opens a geo database by mapping its file into memory: the DB-IP files are 134 MB, and
//! read onto the heap they were most of a collector's memory; mapped, their pages are
//! shared by every process on the machine and only the touched ones stay resident.
//!
//! The one place in Luister with `unsafe` code, reviewed: a mapping is only sound while
//! nobody changes the file under it.
#![allow(unsafe_code)]

use maxminddb::{MaxMindDbError, Mmap, Reader};
use std::path::Path;

/// A reader over `path`, mapped read-only.
pub(super) fn open(path: &Path) -> Result<Reader<Mmap>, MaxMindDbError> {
    // SAFETY: the file is opened read-only and mapped read-only, and Luister never writes
    // a database file. `scripts/fetch-data.sh` (and a package upgrade) replace one by
    // writing a new file and renaming it over the old path, which leaves the inode we
    // mapped unchanged until we drop it. Truncating or rewriting the file in place would
    // break this (reads past the new end fault with SIGBUS): the README says to replace
    // geo databases by rename, as `cp` to a temporary name and `mv` do.
    unsafe { Reader::open_mmap(path) }
}
