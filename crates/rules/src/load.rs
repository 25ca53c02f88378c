//! Finding and loading rule files: [`load_paths`] over files and directories, and the five
//! rules crowsnest ships ([`bundled`]), embedded from the repository's top-level `rules/`.

use std::path::{Path, PathBuf};

use crate::Rule;
use crate::parse::{RuleError, parse_rule};

/// The bundled rule files: (file name, text), in name order.
pub const BUNDLED_FILES: &[(&str, &str)] = &[
    (
        "000_discovery_endpoint_permission_enumeration_by_user_and_srcip.toml",
        include_str!("../../../rules/000_discovery_endpoint_permission_enumeration_by_user_and_srcip.toml"),
    ),
    (
        "001_discovery_endpoint_permission_enumeration_by_anonymous_user.toml",
        include_str!("../../../rules/001_discovery_endpoint_permission_enumeration_by_anonymous_user.toml"),
    ),
    (
        "002_discovery_kubernetes_multi_resource_setup_recon.toml",
        include_str!("../../../rules/002_discovery_kubernetes_multi_resource_setup_recon.toml"),
    ),
    (
        "003_execution_d4c_k8s_mda_forbidden_direct_interactive_kubernetes_api_request.toml",
        include_str!(
            "../../../rules/003_execution_d4c_k8s_mda_forbidden_direct_interactive_kubernetes_api_request.toml"
        ),
    ),
    (
        "004_credential_access_kubernetes_multiple_secret_retrieval_burst.toml",
        include_str!("../../../rules/004_credential_access_kubernetes_multiple_secret_retrieval_burst.toml"),
    ),
];

/// The rules crowsnest runs by default, with `source = "bundled:<file name>"`.
pub fn bundled() -> Vec<Rule> {
    BUNDLED_FILES
        .iter()
        .map(|(name, text)| {
            let source = format!("bundled:{name}");
            parse_rule(text, &source).unwrap_or_else(|e| panic!("bundled rule does not load: {e}"))
        })
        .collect()
}

/// Loads every rule named by `paths`: a file is read as a rule whatever its extension; a
/// directory contributes its `*.toml` files, recursively (skipping hidden entries), in path
/// order. One result per file;
/// an unreadable path, or a directory without any `*.toml` file, gives an error.
pub fn load_paths(paths: &[PathBuf]) -> Vec<Result<Rule, RuleError>> {
    let mut out = Vec::new();
    for path in paths {
        let source = path.display().to_string();
        if path.is_dir() {
            let mut files = Vec::new();
            if let Err(e) = collect_toml(path, &mut files) {
                out.push(Err(RuleError::new(
                    &source,
                    format!("cannot read directory: {e}"),
                )));
                continue;
            }
            if files.is_empty() {
                out.push(Err(RuleError::new(
                    &source,
                    "no *.toml rule files in this directory",
                )));
                continue;
            }
            files.sort();
            out.extend(files.iter().map(|f| load_file(f)));
        } else {
            out.push(load_file(path));
        }
    }
    out
}

fn load_file(path: &Path) -> Result<Rule, RuleError> {
    let source = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| RuleError::new(&source, format!("cannot read: {e}")))?;
    parse_rule(&text, &source)
}

fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue; // hidden files and directories (.git, editor backups)
        }
        let path = entry.path();
        if path.is_dir() {
            collect_toml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}
