//! `GROK`: named `%{PATTERN:name[:type]}` captures over a library of the common Logstash grok
//! patterns, compiled to one `regex` (unanchored, first match, as Elasticsearch's grok).

use regex::Regex;

use crate::types::DataType;

#[derive(Debug)]
pub struct Grok {
    regex: Regex,
    /// Output columns: name, type and the regex group name.
    pub fields: Vec<(String, DataType, String)>,
}

const LIBRARY: &[(&str, &str)] = &[
    ("USERNAME", r"[a-zA-Z0-9._-]+"),
    ("USER", "%{USERNAME}"),
    (
        "EMAILLOCALPART",
        r"[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]{1,64}(?:\.[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]{1,62}){0,63}",
    ),
    ("EMAILADDRESS", "%{EMAILLOCALPART}@%{HOSTNAME}"),
    ("INT", r"(?:[+-]?(?:[0-9]+))"),
    ("BASE10NUM", r"(?:[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))"),
    ("NUMBER", "(?:%{BASE10NUM})"),
    ("BASE16NUM", r"(?:0[xX]?[0-9a-fA-F]+)"),
    ("POSINT", r"\b(?:[1-9][0-9]*)\b"),
    ("NONNEGINT", r"\b(?:[0-9]+)\b"),
    ("WORD", r"\b\w+\b"),
    ("NOTSPACE", r"\S+"),
    ("SPACE", r"\s*"),
    ("DATA", r".*?"),
    ("GREEDYDATA", r".*"),
    (
        "QUOTEDSTRING",
        r#"(?:"(?:\\.|[^\\"]+)+"|""|'(?:\\.|[^\\']+)+'|''|`(?:\\.|[^\\`]+)+`|``)"#,
    ),
    ("UUID", r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}"),
    ("MAC", r"(?:[A-Fa-f0-9]{2}[:-]){5}[A-Fa-f0-9]{2}"),
    (
        "IPV4",
        r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)",
    ),
    ("IPV6", r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?"),
    ("IP", "(?:%{IPV6}|%{IPV4})"),
    (
        "HOSTNAME",
        r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(?:\.?|\b)",
    ),
    ("IPORHOST", "(?:%{IP}|%{HOSTNAME})"),
    ("HOSTPORT", "%{IPORHOST}:%{POSINT}"),
    ("PATH", r"(?:/[^/\s]*)+"),
    ("URIPROTO", r"[A-Za-z]([A-Za-z0-9+\-.]+)+"),
    ("URIHOST", r"%{IPORHOST}(?::%{POSINT})?"),
    ("URIPATH", r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+"),
    ("URIQUERY", r"[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*"),
    ("MONTHNUM", r"(?:0?[1-9]|1[0-2])"),
    ("MONTHDAY", r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])"),
    ("YEAR", r"(?:\d\d){1,2}"),
    ("HOUR", r"(?:2[0123]|[01]?[0-9])"),
    ("MINUTE", r"(?:[0-5][0-9])"),
    ("SECOND", r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)"),
    ("TIME", "%{HOUR}:%{MINUTE}(?::%{SECOND})?"),
    ("ISO8601_TIMEZONE", "(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))"),
    (
        "TIMESTAMP_ISO8601",
        "%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
    ),
    (
        "LOGLEVEL",
        r"(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo?(?:rmation)?|INFO?(?:RMATION)?|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)",
    ),
];

fn lookup(name: &str) -> Option<&'static str> {
    LIBRARY.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

impl Grok {
    pub fn parse(pattern: &str) -> Result<Grok, String> {
        let mut fields = Vec::new();
        let mut counter = 0;
        let re = expand(pattern, &mut fields, &mut counter, 0)?;
        let regex = Regex::new(&re).map_err(|e| format!("Invalid GROK pattern [{pattern}]: {e}"))?;
        Ok(Grok { regex, fields })
    }

    /// The captured values for each field, or None when the input does not match.
    pub fn apply(&self, input: &str) -> Option<Vec<Option<String>>> {
        let caps = self.regex.captures(input)?;
        Some(
            self.fields
                .iter()
                .map(|(_, _, g)| caps.name(g).map(|m| m.as_str().to_string()))
                .collect(),
        )
    }
}

fn expand(
    pattern: &str,
    fields: &mut Vec<(String, DataType, String)>,
    counter: &mut usize,
    depth: usize,
) -> Result<String, String> {
    if depth > 20 {
        return Err("grok pattern recursion too deep".into());
    }
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("%{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("Invalid GROK pattern [{pattern}]"))?
            + start;
        let body = &rest[start + 2..end];
        rest = &rest[end + 1..];
        let mut it = body.splitn(3, ':');
        let name = it.next().unwrap_or_default();
        let field = it.next();
        let ty = it.next();
        let sub = lookup(name)
            .ok_or_else(|| format!("Unable to find pattern [{name}] in Grok's pattern dictionary"))?;
        let inner = expand(sub, &mut Vec::new(), counter, depth + 1)?;
        match field {
            Some(f) => {
                let ty = match ty {
                    Some("int") => DataType::Integer,
                    Some("long") => DataType::Long,
                    Some("float") | Some("double") => DataType::Double,
                    Some("boolean") => DataType::Boolean,
                    _ => DataType::Keyword,
                };
                let group = format!("g{}", *counter);
                *counter += 1;
                out.push_str(&format!("(?P<{group}>{inner})"));
                fields.push((f.to_string(), ty, group));
            }
            None => {
                out.push_str(&format!("(?:{inner})"));
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groks_the_exec_uri() {
        let g = Grok::parse(
            r"%{DATA}/exec\?%{DATA:raw_commands}&(?:container|stdin|stdout|stderr)=%{GREEDYDATA}",
        )
        .unwrap();
        let v = g
            .apply("/api/v1/namespaces/d/pods/p/exec?command=sh&command=-c&container=x&stdin=true")
            .unwrap();
        assert_eq!(v, vec![Some("command=sh&command=-c".to_string())]);
    }
}
