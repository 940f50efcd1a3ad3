//! Build-time template check (spec 05 §1, beyond the original): every `.tpl` deploy would
//! render is parsed now, so syntax errors and unknown functions fail the build instead of
//! a deploy.

use crate::error::{Error, Kind, Result};
use crate::workspace::Workspace;

pub fn check(ws: &Workspace) -> Result<()> {
    for job in &ws.jobs {
        for f in job
            .files
            .iter()
            .filter(|f| !f.is_dir && f.path.ends_with(".tpl"))
        {
            if f.path.starts_with("_modules/") || f.path.starts_with("_prometheus/") {
                continue;
            }
            let fail = |detail: String| {
                Error::bare(
                    Kind::Template,
                    format!("template error: job {}, {detail}", job.name),
                )
            };
            let source = std::str::from_utf8(&f.content)
                .map_err(|_| fail(format!("{}: not valid UTF-8", f.path)))?;
            maand_template::check(&f.path, source, maand_template::Dialect::Deploy)
                .map_err(|e| fail(e.to_string()))?;
        }
    }
    Ok(())
}
