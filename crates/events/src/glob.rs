//! Whole-text wildcard matching over bytes: `*` matches any run, and (when asked) `?` matches
//! one byte. Used for index patterns (`logs-*`) and EQL's `:`/`like` on ASCII text.

/// True when `pattern` matches all of `text`. `one`: `?` matches exactly one byte (else it is
/// a literal). `ignore_ascii_case`: ASCII letters match either case. Greedy with backtracking
/// to the last `*`: linear in practice, O(pattern × text) at worst.
pub fn wildcard_match(pattern: &[u8], text: &[u8], one: bool, ignore_ascii_case: bool) -> bool {
    let eq = |a: u8, b: u8| a == b || (ignore_ascii_case && a.eq_ignore_ascii_case(&b));
    let (p, s) = (pattern, text);
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && ((one && p[pi] == b'?') || eq(p[pi], s[si])) {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::wildcard_match as m;

    #[test]
    fn stars_question_marks_and_case() {
        assert!(m(b"logs-*", b"logs-x", false, false));
        assert!(m(b"*", b"", false, false));
        assert!(m(b"a*b*c", b"aXXbYbc", false, false));
        assert!(!m(b"a*b*c", b"aXXbYbcd", false, false));
        assert!(m(b"a?c", b"abc", true, false));
        assert!(!m(b"a?c", b"abc", false, false), "? is literal unless asked");
        assert!(m(b"a?c", b"a?c", false, false));
        assert!(m(b"*BASH", b"/bin/bash", false, true));
        assert!(!m(b"*BASH", b"/bin/bash", false, false));
        assert!(!m(b"a?", b"a", true, false));
    }
}
