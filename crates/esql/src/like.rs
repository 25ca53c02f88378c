//! `LIKE` patterns translated to anchored `regex` crate syntax: `*` any run, `?` one
//! character, `\` escapes the next character. (`RLIKE` lives in [`crate::lucene`].)

use regex::Regex;

/// Translates a `LIKE` pattern to an anchored regex.
pub fn like_to_regex(p: &str) -> Result<Regex, String> {
    let mut out = String::from("(?s)^(?:");
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => match chars.next() {
                Some(n) => out.push_str(&regex::escape(&n.to_string())),
                None => {
                    return Err(format!(
                        "Invalid sequence - escape character is not followed by special wildcard char in pattern [{p}]"
                    ));
                }
            },
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push_str(")$");
    Regex::new(&out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_is_anchored_with_escapes() {
        let r = like_to_regex("sh.helm.release.*").unwrap();
        assert!(r.is_match("sh.helm.release.v1.x"));
        assert!(!r.is_match("xsh.helm.release.v1"));
        assert!(like_to_regex("a\\*b").unwrap().is_match("a*b"));
        assert!(!like_to_regex("a\\*b").unwrap().is_match("axxb"));
        assert!(like_to_regex("?b").unwrap().is_match("ab"));
    }
}
