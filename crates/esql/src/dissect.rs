//! `DISSECT`: splits a string by the literal delimiters of a `%{key}` pattern. Supports
//! `%{?skip}` (named skip), `%{}` (anonymous skip), `%{+key}` (append, joined with the
//! `APPEND_SEPARATOR`), and `->` right padding (repeated delimiters).

#[derive(Debug)]
pub struct Dissect {
    /// Literal text before the first key.
    prefix: String,
    parts: Vec<Part>,
    /// Output column names, in order of first appearance.
    pub names: Vec<String>,
    separator: String,
}

#[derive(Debug)]
struct Part {
    key: Option<String>,
    append: bool,
    pad: bool,
    /// Delimiter after the key (empty for the last key).
    delim: String,
}

impl Dissect {
    pub fn parse(pattern: &str, separator: Option<String>) -> Result<Dissect, String> {
        let mut rest = pattern;
        let prefix_end = rest
            .find("%{")
            .ok_or_else(|| format!("Invalid pattern [{pattern}] for dissect"))?;
        let prefix = rest[..prefix_end].to_string();
        rest = &rest[prefix_end..];
        let mut parts = Vec::new();
        let mut names = Vec::new();
        while let Some(body_end) = rest.find('}') {
            let mut key = &rest[2..body_end];
            rest = &rest[body_end + 1..];
            let delim_end = rest.find("%{").unwrap_or(rest.len());
            let delim = rest[..delim_end].to_string();
            rest = &rest[delim_end..];
            let mut append = false;
            let mut pad = false;
            let mut named = true;
            if let Some(k) = key.strip_suffix("->") {
                key = k;
                pad = true;
            }
            if let Some(k) = key.strip_prefix('+') {
                key = k;
                append = true;
            } else if let Some(k) = key.strip_prefix('?') {
                key = k;
                named = false;
            } else if key.starts_with('&') || key.starts_with('*') {
                return Err(format!(
                    "reference keys are not supported in dissect pattern [{pattern}]"
                ));
            }
            if let Some((k, _order)) = key.split_once('/') {
                key = k;
            }
            let key = if named && !key.is_empty() {
                if !names.iter().any(|n: &String| n == key) {
                    names.push(key.to_string());
                }
                Some(key.to_string())
            } else {
                None
            };
            parts.push(Part {
                key,
                append,
                pad,
                delim,
            });
            if rest.is_empty() {
                break;
            }
        }
        if parts.is_empty() {
            return Err(format!("Invalid pattern [{pattern}] for dissect"));
        }
        Ok(Dissect {
            prefix,
            parts,
            names,
            separator: separator.unwrap_or_default(),
        })
    }

    /// The values of `names` for `input`, or None when the input does not match.
    pub fn apply(&self, input: &str) -> Option<Vec<Option<String>>> {
        let mut s = input.strip_prefix(self.prefix.as_str())?;
        let mut out: Vec<Option<String>> = vec![None; self.names.len()];
        for (i, part) in self.parts.iter().enumerate() {
            let value;
            if part.delim.is_empty() {
                if i + 1 == self.parts.len() {
                    value = s;
                    s = "";
                } else {
                    // adjacent keys with no delimiter: the first takes nothing
                    value = "";
                }
            } else {
                let pos = s.find(part.delim.as_str())?;
                value = &s[..pos];
                s = &s[pos + part.delim.len()..];
                if part.pad {
                    while let Some(r) = s.strip_prefix(part.delim.as_str()) {
                        s = r;
                    }
                }
            }
            if let Some(k) = &part.key {
                let idx = self.names.iter().position(|n| n == k)?;
                match (&mut out[idx], part.append) {
                    (Some(prev), true) => {
                        prev.push_str(&self.separator);
                        prev.push_str(value);
                    }
                    (slot, _) => *slot = Some(value.to_string()),
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dissects() {
        let d = Dissect::parse("%{a} %{b} - %{c}", None).unwrap();
        assert_eq!(
            d.apply("1 2 - 3 4").unwrap(),
            vec![Some("1".into()), Some("2".into()), Some("3 4".into())]
        );
        assert!(d.apply("nope").is_none());
        let d = Dissect::parse("%{+a} %{+a}", Some(",".into())).unwrap();
        assert_eq!(d.apply("x y").unwrap(), vec![Some("x,y".into())]);
    }
}
