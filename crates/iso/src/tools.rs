//! Finding the external programs createiso drives, with install hints when they are missing.

use std::path::{Path, PathBuf};

use crate::IsoError;

/// How to get each tool on Debian and Fedora.
fn hint(tool: &str) -> &'static str {
    match tool {
        "xorriso" => "apt-get install xorriso / dnf install xorriso",
        "implantisomd5" | "checkisomd5" => "apt-get install isomd5sum / dnf install isomd5sum",
        "isohybrid" => "apt-get install syslinux-utils / dnf install syslinux",
        "git" => "apt-get install git / dnf install git",
        _ => "install it with your package manager",
    }
}

/// The absolute path of `tool` on `PATH` (or in `search`, when given, for tests).
pub fn find_tool(tool: &str, search: Option<&str>) -> Result<PathBuf, IsoError> {
    let path = match search {
        Some(s) => s.to_owned(),
        None => std::env::var("PATH").unwrap_or_default(),
    };
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| is_executable(p))
        .ok_or_else(|| IsoError::MissingTool {
            tool: tool.to_owned(),
            hint: hint(tool),
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_xorriso_is_named_with_install_hint() {
        let dir = tempfile::tempdir().unwrap();
        let e = find_tool("xorriso", dir.path().to_str())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("xorriso")
                && e.contains("apt-get install xorriso")
                && e.contains("dnf install xorriso"),
            "{e}"
        );
    }
}
