//! `maand init`.

use crate::bucket::init;
use crate::error::Result;
use std::path::Path;

pub fn run(explicit: Option<&Path>) -> Result<i32> {
    let root = match explicit {
        Some(p) => p.to_path_buf(),
        None => std::env::current_dir()?,
    };
    let report = init::run(&root, Some(&crate::certs::ca::init_files))?;
    let verb = if report.created {
        "initialized"
    } else {
        "upgraded"
    };
    super::output::print(&format!(
        "{verb} bucket {} in {}\n",
        report.bucket_id,
        root.display()
    ));
    Ok(0)
}
