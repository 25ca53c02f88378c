//! Scalar functions: their signatures (name → result type, checked at analysis) and their
//! evaluation. Single-value functions return null with a warning on a multi-valued argument;
//! `MV_*`, the `TO_*` conversions, `COALESCE` and `CASE` accept multi-values.

use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Utc};

use crate::expr::{Ctx, Ex, MV_WARNING};
use crate::types::{DataType, Val, format_double, parse_date, parse_ip};

/// Names of the scalar functions this engine knows, as written in queries (lowercase).
pub const SCALARS: &[&str] = &[
    "case",
    "coalesce",
    "greatest",
    "least",
    "date_trunc",
    "date_diff",
    "date_extract",
    "date_format",
    "date_parse",
    "now",
    "to_string",
    "to_lower",
    "to_upper",
    "to_integer",
    "to_int",
    "to_long",
    "to_double",
    "to_dbl",
    "to_boolean",
    "to_bool",
    "to_ip",
    "to_datetime",
    "to_dt",
    "to_version",
    "to_unsigned_long",
    "to_ul",
    "to_ulong",
    "to_str",
    "length",
    "substring",
    "concat",
    "replace",
    "split",
    "trim",
    "ltrim",
    "rtrim",
    "left",
    "right",
    "locate",
    "starts_with",
    "ends_with",
    "cidr_match",
    "abs",
    "round",
    "floor",
    "ceil",
    "pow",
    "sqrt",
    "log10",
    "log",
    "exp",
    "signum",
    "pi",
    "e",
    "tau",
    "mv_count",
    "mv_first",
    "mv_last",
    "mv_dedupe",
    "mv_concat",
    "mv_min",
    "mv_max",
    "mv_sum",
    "mv_avg",
    "mv_median",
    "mv_sort",
    "mv_slice",
    "mv_append",
    "bucket",
    "url_decode",
    "url_encode",
    "ip_prefix",
    "reverse",
    "repeat",
    "space",
    "to_text",
    "to_keyword",
    "bit_length",
    "byte_length",
    "mv_contains",
    "mv_zip",
    "clamp",
    "clamp_min",
    "clamp_max",
    "to_dateperiod",
    "to_timeduration",
    "cos",
    "acos",
    "cosh",
    "sin",
    "asin",
    "sinh",
    "tan",
    "atan",
    "tanh",
    "atan2",
    "to_degrees",
    "to_radians",
    "cbrt",
    "hypot",
];

fn lower_static(name: &str) -> Option<&'static str> {
    SCALARS.iter().copied().find(|n| *n == name)
}

/// Resolves a call to a function id and its result type. Errors are the message texts.
/// Accepted argument counts (min, max) of each scalar function.
fn arity_of(id: &str) -> (usize, usize) {
    const MANY: usize = usize::MAX;
    match id {
        "now" | "pi" | "e" | "tau" => (0, 0),
        "case" => (2, MANY),
        "coalesce" | "greatest" | "least" | "concat" | "mv_append" => (1, MANY),
        "cidr_match" => (2, MANY),
        "date_trunc" | "date_extract" | "split" | "left" | "right" | "starts_with" | "ends_with" | "pow"
        | "atan2" | "hypot" | "repeat" | "mv_concat" | "mv_contains" | "clamp_min" | "clamp_max" => (2, 2),
        "date_diff" | "replace" | "ip_prefix" | "clamp" => (3, 3),
        "mv_zip" => (2, 3),
        "date_format" | "date_parse" | "round" | "log" | "mv_sort" => (1, 2),
        "substring" | "locate" | "mv_slice" => (2, 3),
        "bucket" => (2, 4),
        _ => (1, 1),
    }
}

pub fn resolve(name: &str, args: &[Ex]) -> Result<(&'static str, DataType), String> {
    let id = lower_static(name).ok_or_else(|| format!("Unknown function [{name}]"))?;
    let (min, max) = arity_of(id);
    if args.len() < min || args.len() > max {
        return Err(format!(
            "error building [{name}]: expects {} argument{}",
            arity_text(min, max),
            if max == 1 && min == 1 { "" } else { "s" }
        ));
    }
    let t = |i: usize| args.get(i).map(|a| a.ty).unwrap_or(DataType::Null);
    let arity = |min: usize, max: usize| -> Result<(), String> {
        if args.len() < min || args.len() > max {
            Err(format!(
                "error building [{name}]: expects {} arguments",
                arity_text(min, max)
            ))
        } else {
            Ok(())
        }
    };
    let ty = match id {
        "case" => {
            if args.len() < 2 {
                return Err(format!("error building [{name}]: expects at least two arguments"));
            }
            let mut ty = DataType::Null;
            for (i, a) in args.iter().enumerate() {
                let is_value = i % 2 == 1 || i == args.len() - 1;
                if is_value {
                    ty = unify(ty, a.ty);
                }
            }
            no_text(ty)
        }
        "coalesce" | "greatest" | "least" | "mv_append" | "clamp" | "clamp_min" | "clamp_max" => {
            arity(1, usize::MAX)?;
            no_text(args.iter().fold(DataType::Null, |acc, a| unify(acc, a.ty)))
        }
        "to_dateperiod" => DataType::DatePeriod,
        "to_timeduration" => DataType::TimeDuration,
        "cos" | "acos" | "cosh" | "sin" | "asin" | "sinh" | "tan" | "atan" | "tanh" | "atan2"
        | "to_degrees" | "to_radians" | "cbrt" | "hypot" => DataType::Double,
        "date_trunc" => {
            arity(2, 2)?;
            DataType::Date
        }
        "date_diff" => {
            arity(3, 3)?;
            DataType::Integer
        }
        "date_extract" => {
            arity(2, 2)?;
            DataType::Long
        }
        "date_format" => {
            arity(1, 2)?;
            DataType::Keyword
        }
        "date_parse" => {
            arity(1, 2)?;
            DataType::Date
        }
        "now" => {
            arity(0, 0)?;
            DataType::Date
        }
        "to_string" | "to_str" | "to_keyword" | "to_lower" | "to_upper" | "substring" | "concat"
        | "replace" | "split" | "trim" | "ltrim" | "rtrim" | "left" | "right" | "mv_concat"
        | "url_decode" | "url_encode" | "reverse" | "repeat" | "space" | "mv_zip" => DataType::Keyword,
        "to_text" => DataType::Text,
        "to_integer" | "to_int" | "length" | "locate" | "mv_count" | "bit_length" | "byte_length" => {
            DataType::Integer
        }
        "to_long" => DataType::Long,
        "to_unsigned_long" | "to_ul" | "to_ulong" => DataType::UnsignedLong,
        "to_double" | "to_dbl" | "pow" | "sqrt" | "log10" | "log" | "exp" | "signum" | "pi" | "e" | "tau"
        | "mv_avg" => DataType::Double,
        "to_boolean" | "to_bool" | "starts_with" | "ends_with" | "cidr_match" | "mv_contains" => {
            DataType::Boolean
        }
        "to_ip" | "to_ip_decimal" | "to_ip_octal" | "ip_prefix" => DataType::Ip,
        "to_datetime" | "to_dt" => DataType::Date,
        "to_version" => DataType::Version,
        "abs" | "round" | "floor" | "ceil" => {
            arity(1, 2)?;
            if !t(0).is_numeric() && t(0) != DataType::Null {
                return Err(format!(
                    "first argument of [{name}] must be [numeric], found value [{}] type [{}]",
                    args[0].loc.text,
                    t(0).name()
                ));
            }
            t(0)
        }
        "mv_sum" | "mv_min" | "mv_max" | "mv_first" | "mv_last" | "mv_dedupe" | "mv_sort" | "mv_slice" => {
            if id == "mv_sum" && t(0) == DataType::Integer {
                DataType::Integer
            } else {
                t(0)
            }
        }
        "mv_median" => {
            if t(0) == DataType::Double {
                DataType::Double
            } else {
                t(0)
            }
        }
        "bucket" => {
            if t(0).is_date() {
                DataType::Date
            } else {
                DataType::Double
            }
        }
        _ => return Err(format!("Unknown function [{name}]")),
    };
    Ok((id, ty))
}

/// Functions never emit `text`: a text result is a keyword.
fn no_text(t: DataType) -> DataType {
    if t == DataType::Text { DataType::Keyword } else { t }
}

fn arity_text(min: usize, max: usize) -> String {
    if min == max {
        format!("exactly {min}")
    } else if max == usize::MAX {
        format!("at least {min}")
    } else {
        format!("between {min} and {max}")
    }
}

/// The common type of branches/arguments: numeric types widen, null gives way, text and
/// keyword meet as keyword.
pub fn unify(a: DataType, b: DataType) -> DataType {
    if a == DataType::Null {
        return b;
    }
    if b == DataType::Null || a == b {
        return a;
    }
    if a.is_numeric() && b.is_numeric() {
        return DataType::widen(a, b);
    }
    if a.is_string() && b.is_string() {
        return DataType::Keyword;
    }
    a
}

/// Adds `sign` times a span to a date (epoch millis).
pub fn add_span(date: i64, span: &Val, sign: i64) -> Option<i64> {
    match span {
        Val::Duration(ms) => date.checked_add(ms.checked_mul(sign)?),
        Val::Period(months, days) => {
            let dt = Utc.timestamp_millis_opt(date).single()?;
            let m = (*months as i64) * sign;
            let d = (*days as i64) * sign;
            let dt = if m >= 0 {
                dt.checked_add_months(chrono::Months::new(m as u32))?
            } else {
                dt.checked_sub_months(chrono::Months::new((-m) as u32))?
            };
            let dt = dt.checked_add_signed(chrono::Duration::days(d))?;
            Some(dt.timestamp_millis())
        }
        _ => None,
    }
}

/// Evaluates a call. `node` is the call itself (its type and location).
pub fn eval_call(node: &Ex, name: &str, args: &[Ex], row: &[Val], cx: &mut Ctx) -> Val {
    match name {
        "case" => return eval_case(node, args, row, cx),
        "coalesce" => {
            for a in args {
                let v = a.eval(row, cx);
                if !v.is_null() {
                    return match v {
                        Val::Multi(vs) => Val::Multi(vs.iter().map(|x| coerce_num(x, node.ty)).collect()),
                        v => coerce_num(&v, node.ty),
                    };
                }
            }
            return Val::Null;
        }
        "now" => return Val::Date(cx.now_millis),
        "pi" => return Val::Double(std::f64::consts::PI),
        "e" => return Val::Double(std::f64::consts::E),
        "tau" => return Val::Double(std::f64::consts::TAU),
        _ => {}
    }
    let vals: Vec<Val> = args.iter().map(|a| a.eval(row, cx)).collect();
    // multi-value aware functions
    match name {
        "mv_count" => {
            return match &vals[0] {
                Val::Null => Val::Null,
                v => Val::Int(v.values().len() as i64),
            };
        }
        "mv_first" => return vals[0].values().first().cloned().unwrap_or_default(),
        "mv_last" => return vals[0].values().last().cloned().unwrap_or_default(),
        "mv_dedupe" => {
            let mut out: Vec<Val> = Vec::new();
            for v in vals[0].values() {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            return Val::from_values(out);
        }
        "mv_min" => {
            return vals[0]
                .values()
                .iter()
                .min_by(|a, b| a.cmp_same(b))
                .cloned()
                .unwrap_or_default();
        }
        "mv_max" => {
            return vals[0]
                .values()
                .iter()
                .max_by(|a, b| a.cmp_same(b))
                .cloned()
                .unwrap_or_default();
        }
        "mv_sort" => {
            let mut v = vals[0].values().to_vec();
            v.sort_by(|a, b| a.cmp_same(b));
            if let Some(Val::Str(order)) = vals.get(1)
                && order.eq_ignore_ascii_case("desc")
            {
                v.reverse();
            }
            return Val::from_values(v);
        }
        "mv_slice" => {
            let v = vals[0].values();
            let n = v.len() as i64;
            let (Some(start), end) = (
                vals.get(1).and_then(Val::as_i64),
                vals.get(2).and_then(Val::as_i64),
            ) else {
                return Val::Null;
            };
            let end = end.unwrap_or(start);
            let s = (if start < 0 { start + n } else { start }).max(0);
            let e = if end < 0 { end + n } else { end };
            if s >= n || e < s {
                return Val::Null;
            }
            let e = e.min(n - 1);
            return Val::from_values(v[s as usize..=e as usize].to_vec());
        }
        "mv_concat" => {
            if vals[0].is_null() || vals[1].is_null() {
                return Val::Null;
            }
            let sep = vals[1].render();
            let parts: Vec<String> = vals[0].values().iter().map(Val::render).collect();
            return Val::str(parts.join(&sep));
        }
        "mv_zip" => {
            // pairs values position by position; the shorter side contributes nothing past its end
            if vals[0].is_null() && vals[1].is_null() {
                return Val::Null;
            }
            let sep = match vals.get(2) {
                Some(Val::Null) => return Val::Null,
                Some(v) => v.render(),
                None => ",".to_string(),
            };
            let (a, b) = (vals[0].values(), vals[1].values());
            let n = a.len().max(b.len());
            let out = (0..n)
                .map(|i| match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => Val::str(format!("{}{sep}{}", x.render(), y.render())),
                    (Some(x), None) | (None, Some(x)) => Val::str(x.render()),
                    (None, None) => Val::Null,
                })
                .collect();
            return Val::from_values(out);
        }
        "mv_append" => {
            let mut out = Vec::new();
            for v in &vals {
                out.extend(v.values().iter().cloned());
            }
            return Val::from_values(out);
        }
        "mv_contains" => {
            if vals[0].is_null() || vals[1].is_null() {
                return Val::Bool(vals[1].is_null());
            }
            let hay = vals[0].values();
            return Val::Bool(vals[1].values().iter().all(|n| hay.contains(n)));
        }
        "mv_sum" => {
            let vs = vals[0].values();
            if vs.is_empty() {
                return Val::Null;
            }
            if node.ty == DataType::Double {
                return Val::Double(vs.iter().filter_map(Val::as_f64).sum());
            }
            let mut acc: i64 = 0;
            for v in vs {
                match v.as_i64().and_then(|x| acc.checked_add(x)) {
                    Some(s) => acc = s,
                    None => {
                        cx.warnings.add(&node.loc, &overflow_msg(node.ty));
                        return Val::Null;
                    }
                }
            }
            if node.ty == DataType::Integer && i32::try_from(acc).is_err() {
                cx.warnings.add(&node.loc, &overflow_msg(node.ty));
                return Val::Null;
            }
            return Val::Int(acc);
        }
        "mv_avg" => {
            let vs = vals[0].values();
            if vs.is_empty() {
                return Val::Null;
            }
            return Val::Double(vs.iter().filter_map(Val::as_f64).sum::<f64>() / vs.len() as f64);
        }
        "mv_median" => {
            let mut vs: Vec<Val> = vals[0].values().to_vec();
            if vs.is_empty() {
                return Val::Null;
            }
            vs.sort_by(|a, b| a.cmp_same(b));
            let n = vs.len();
            if n % 2 == 1 {
                return vs[n / 2].clone();
            }
            let (a, b) = (&vs[n / 2 - 1], &vs[n / 2]);
            return match (a, b) {
                (Val::Int(x), Val::Int(y)) => Val::Int(((*x as i128 + *y as i128).div_euclid(2)) as i64),
                _ => Val::Double((a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0)) / 2.0),
            };
        }
        "greatest" | "least" => {
            let mut best: Option<Val> = None;
            for v in &vals {
                if v.is_null() {
                    return Val::Null;
                }
                for x in v.values() {
                    let x = coerce_num(x, node.ty);
                    best = Some(match best {
                        None => x,
                        Some(b) => {
                            let o = x.cmp_same(&b);
                            if (name == "greatest" && o.is_gt()) || (name == "least" && o.is_lt()) {
                                x
                            } else {
                                b
                            }
                        }
                    });
                }
            }
            return best.unwrap_or_default();
        }
        "to_string" | "to_str" | "to_keyword" | "to_text" => {
            return map_values(&vals[0], |v| Ok(Val::str(v.render())), node, cx);
        }
        "to_integer" | "to_int" | "to_long" | "to_unsigned_long" | "to_ul" | "to_ulong" => {
            let ty = node.ty;
            return map_values(&vals[0], |v| to_whole(v, ty), node, cx);
        }
        "to_double" | "to_dbl" => return map_values(&vals[0], to_double, node, cx),
        "to_boolean" | "to_bool" => {
            return map_values(
                &vals[0],
                |v| {
                    Ok(match v {
                        Val::Bool(b) => Val::Bool(*b),
                        Val::Str(s) => Val::Bool(s.eq_ignore_ascii_case("true")),
                        Val::Int(i) => Val::Bool(*i != 0),
                        Val::Double(d) => Val::Bool(*d != 0.0),
                        _ => Val::Null,
                    })
                },
                node,
                cx,
            );
        }
        "to_ip" | "to_ip_decimal" | "to_ip_octal" => {
            let zeros = match name {
                "to_ip_decimal" => crate::types::LeadingZeros::Decimal,
                "to_ip_octal" => crate::types::LeadingZeros::Octal,
                _ => crate::types::LeadingZeros::Reject,
            };
            return map_values(
                &vals[0],
                |v| match v {
                    Val::Ip(_) => Ok(v.clone()),
                    Val::Str(s) => crate::types::parse_ip_with(s, zeros).map(Val::Ip).ok_or_else(|| {
                        format!("java.lang.IllegalArgumentException: '{s}' is not an IP string literal.")
                    }),
                    _ => Ok(Val::Null),
                },
                node,
                cx,
            );
        }
        "to_datetime" | "to_dt" => {
            return map_values(
                &vals[0],
                |v| {
                    match v {
                    Val::Date(_) => Ok(v.clone()),
                    Val::Int(i) => Ok(Val::Date(*i)),
                    Val::Double(d) => Ok(Val::Date(*d as i64)),
                    Val::Str(s) => parse_date(s).map(Val::Date).ok_or_else(|| {
                        format!(
                            "java.lang.IllegalArgumentException: failed to parse date field [{s}] with format [strict_date_optional_time]"
                        )
                    }),
                    _ => Ok(Val::Null),
                }
                },
                node,
                cx,
            );
        }
        "to_version" => return map_values(&vals[0], |v| Ok(Val::str(v.render())), node, cx),
        // TO_LOWER/TO_UPPER take multi-valued input value by value (ES|QL function reference)
        "to_lower" => return map_values(&vals[0], |v| Ok(Val::str(v.render().to_lowercase())), node, cx),
        "to_upper" => return map_values(&vals[0], |v| Ok(Val::str(v.render().to_uppercase())), node, cx),
        "to_degrees" | "to_radians" => {
            let deg = name == "to_degrees";
            return map_values(
                &vals[0],
                |v| {
                    let x = v.as_f64().unwrap_or(0.0);
                    Ok(Val::Double(if deg { x.to_degrees() } else { x.to_radians() }))
                },
                node,
                cx,
            );
        }
        "to_dateperiod" | "to_timeduration" => {
            return match &vals[0] {
                Val::Str(s) => match crate::analyzer::parse_span_text(s) {
                    Some((v, t)) if t == node.ty => v,
                    _ => {
                        cx.warnings.add(
                            &node.loc,
                            &format!(
                                "java.lang.IllegalArgumentException: Cannot convert [{s}] to [{}]",
                                node.ty.name()
                            ),
                        );
                        Val::Null
                    }
                },
                v => v.clone(),
            };
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            if vals.iter().any(Val::is_null) {
                return Val::Null;
            }
            if vals.iter().any(Val::is_multi) {
                cx.warnings.add(&node.loc, MV_WARNING);
                return Val::Null;
            }
            let mut x = coerce_num(&vals[0], node.ty);
            let lo = if name == "clamp_max" {
                None
            } else {
                Some(coerce_num(&vals[1], node.ty))
            };
            let hi = match name {
                "clamp" => Some(coerce_num(&vals[2], node.ty)),
                "clamp_max" => Some(coerce_num(&vals[1], node.ty)),
                _ => None,
            };
            if let Some(lo) = lo
                && x.cmp_same(&lo).is_lt()
            {
                x = lo;
            }
            if let Some(hi) = hi
                && x.cmp_same(&hi).is_gt()
            {
                x = hi;
            }
            return x;
        }
        _ => {}
    }
    // single-value functions
    if vals.iter().any(Val::is_multi) {
        cx.warnings.add(&node.loc, MV_WARNING);
        return Val::Null;
    }
    match name {
        "concat" => {
            let mut s = String::new();
            for v in &vals {
                match v {
                    Val::Null => return Val::Null,
                    v => s.push_str(&v.render()),
                }
            }
            return Val::str(s);
        }
        "split" if !vals[0].is_null() && !vals[1].is_null() => {
            let s = vals[0].render();
            let d = vals[1].render();
            if d.is_empty() {
                return Val::from_values(s.chars().map(|c| Val::str(c.to_string())).collect());
            }
            return Val::from_values(s.split(d.as_str()).map(|p| Val::str(p.to_string())).collect());
        }
        "cidr_match" => {
            let Val::Ip(ip) = &vals[0] else { return Val::Null };
            for c in &vals[1..] {
                for c in c.values() {
                    if let Val::Str(c) = c
                        && cidr_contains(c, ip)
                    {
                        return Val::Bool(true);
                    }
                }
            }
            return Val::Bool(false);
        }
        "date_format" | "date_parse" if vals.len() == 1 => {
            return match (&vals[0], name) {
                (Val::Date(d), "date_format") => Val::str(crate::types::format_date(*d)),
                (Val::Str(s), "date_parse") => match parse_date(s) {
                    Some(d) => Val::Date(d),
                    None => {
                        cx.warnings.add(
                            &node.loc,
                            &format!("java.lang.IllegalArgumentException: failed to parse date field [{s}] with format [strict_date_optional_time]"),
                        );
                        Val::Null
                    }
                },
                _ => Val::Null,
            };
        }
        "round" if vals.len() == 1 || !vals[1].is_null() => {
            let digits = vals.get(1).and_then(Val::as_i64).unwrap_or(0);
            return match &vals[0] {
                Val::Null => Val::Null,
                Val::Double(d) => Val::Double(round_half_up(*d, digits)),
                Val::Int(i) => {
                    if digits >= 0 {
                        Val::Int(*i)
                    } else {
                        let p = 10i64.checked_pow((-digits) as u32).unwrap_or(i64::MAX);
                        let q = (*i as f64 / p as f64).round() as i64;
                        Val::Int(q.saturating_mul(p))
                    }
                }
                v => v.clone(),
            };
        }
        _ => {}
    }
    if vals.iter().any(Val::is_null) {
        return Val::Null;
    }
    match sv_call(name, &vals, node, cx) {
        Ok(v) => v,
        Err(msg) => {
            cx.warnings.add(&node.loc, &msg);
            Val::Null
        }
    }
}

fn overflow_msg(ty: DataType) -> String {
    format!(
        "java.lang.ArithmeticException: {} overflow",
        if ty == DataType::Integer {
            "integer"
        } else {
            "long"
        }
    )
}

fn coerce_num(v: &Val, ty: DataType) -> Val {
    match (v, ty) {
        (Val::Int(i), DataType::Double) => Val::Double(*i as f64),
        _ => v.clone(),
    }
}

fn round_half_up(d: f64, digits: i64) -> f64 {
    let p = 10f64.powi(digits as i32);
    let x = d * p;
    let r = if x >= 0.0 {
        (x + 0.5).floor()
    } else {
        -((-x + 0.5).floor())
    };
    r / p
}

fn map_values(v: &Val, f: impl Fn(&Val) -> Result<Val, String>, node: &Ex, cx: &mut Ctx) -> Val {
    let mut out = Vec::new();
    for x in v.values() {
        match f(x) {
            Ok(y) => out.push(y),
            Err(msg) => cx.warnings.add(&node.loc, &msg),
        }
    }
    Val::from_values(out)
}

fn to_whole(v: &Val, ty: DataType) -> Result<Val, String> {
    let range_err = |s: String| {
        format!(
            "org.elasticsearch.xpack.esql.core.InvalidArgumentException: [{s}] out of [{}] range",
            ty.name()
        )
    };
    let check = |i: i128, s: String| -> Result<Val, String> {
        let ok = match ty {
            DataType::Integer => i32::try_from(i).is_ok(),
            DataType::UnsignedLong => (0..=u64::MAX as i128).contains(&i) && i64::try_from(i).is_ok(),
            _ => i64::try_from(i).is_ok(),
        };
        if ok {
            Ok(Val::Int(i as i64))
        } else {
            Err(range_err(s))
        }
    };
    match v {
        Val::Int(i) | Val::Date(i) => check(*i as i128, i.to_string()),
        Val::Bool(b) => Ok(Val::Int(*b as i64)),
        Val::Double(d) => {
            if d.is_finite() && d.abs() < 1.8e19 {
                check(d.round() as i128, format_double(*d))
            } else {
                Err(range_err(format_double(*d)))
            }
        }
        Val::Str(s) => {
            // text that does not convert, or converts out of range, "cannot parse"
            let t = s.trim();
            let cannot = || {
                format!(
                    "org.elasticsearch.xpack.esql.core.InvalidArgumentException: Cannot parse number [{s}]"
                )
            };
            if let Ok(i) = t.parse::<i128>() {
                return check(i, t.to_string()).map_err(|_| cannot());
            }
            match t.parse::<f64>() {
                Ok(d) if d.is_finite() => {
                    let (lo, hi) = match ty {
                        DataType::Integer => (i32::MIN as f64, i32::MAX as f64),
                        DataType::UnsignedLong => (0.0, u64::MAX as f64),
                        _ => (i64::MIN as f64, i64::MAX as f64),
                    };
                    if d < lo || d > hi {
                        return Err(cannot());
                    }
                    check(d.trunc() as i128, t.to_string()).map_err(|_| cannot())
                }
                _ => Err(cannot()),
            }
        }
        _ => Ok(Val::Null),
    }
}

fn to_double(v: &Val) -> Result<Val, String> {
    match v {
        Val::Int(i) | Val::Date(i) => Ok(Val::Double(*i as f64)),
        Val::Double(d) => Ok(Val::Double(*d)),
        Val::Bool(b) => Ok(Val::Double(if *b { 1.0 } else { 0.0 })),
        Val::Str(s) => s.trim().parse::<f64>().map(Val::Double).map_err(|_| {
            format!("org.elasticsearch.xpack.esql.core.InvalidArgumentException: Cannot parse number [{s}]")
        }),
        _ => Ok(Val::Null),
    }
}

fn eval_case(node: &Ex, args: &[Ex], row: &[Val], cx: &mut Ctx) -> Val {
    let mut i = 0;
    while i + 1 < args.len() {
        let c = args[i].eval(row, cx);
        if c.is_multi() {
            cx.warnings.add_treating(&node.loc, MV_WARNING, "false");
        } else if matches!(c, Val::Bool(true)) {
            return coerce_num(&args[i + 1].eval(row, cx), node.ty);
        }
        i += 2;
    }
    if args.len() % 2 == 1 {
        coerce_num(&args[args.len() - 1].eval(row, cx), node.ty)
    } else {
        Val::Null
    }
}

/// `cidr` contains `ip` (16-byte form).
pub fn cidr_contains(cidr: &str, ip: &[u8; 16]) -> bool {
    let (addr, len) = match cidr.split_once('/') {
        Some((a, l)) => (a, l.trim().parse::<u32>().ok()),
        None => (cidr, None),
    };
    let Some(net) = parse_ip(addr) else { return false };
    let v4 = !addr.contains(':');
    let len = match len {
        Some(l) if v4 => l + 96,
        Some(l) => l,
        None => 128,
    };
    if len > 128 {
        return false;
    }
    let a = u128::from_be_bytes(net);
    let b = u128::from_be_bytes(*ip);
    if len == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - len);
    a & mask == b & mask
}

fn sv_call(name: &str, v: &[Val], node: &Ex, _cx: &mut Ctx) -> Result<Val, String> {
    let s = |i: usize| v[i].as_str().unwrap_or_default().to_string();
    let int = |i: usize| v[i].as_i64().unwrap_or(0);
    Ok(match name {
        "to_lower" => Val::str(s(0).to_lowercase()),
        "to_upper" => Val::str(s(0).to_uppercase()),
        "length" => Val::Int(s(0).chars().count() as i64),
        "bit_length" => Val::Int(s(0).len() as i64 * 8),
        "byte_length" => Val::Int(s(0).len() as i64),
        "trim" => Val::str(s(0).trim_matches(is_ws).to_string()),
        "ltrim" => Val::str(s(0).trim_start_matches(is_ws).to_string()),
        "rtrim" => Val::str(s(0).trim_end_matches(is_ws).to_string()),
        "reverse" => Val::str(s(0).chars().rev().collect::<String>()),
        "repeat" => {
            let n = int(1);
            if n < 0 {
                return Err(format!(
                    "java.lang.IllegalArgumentException: Number parameter cannot be negative, found [{n}]"
                ));
            }
            if (n as u128) * (s(0).len() as u128) > 1_048_576 {
                return Err("java.lang.IllegalArgumentException: Creating strings longer than [1048576] bytes is not supported".into());
            }
            Val::str(s(0).repeat(n as usize))
        }
        "space" => {
            let n = int(0);
            if !(0..=1_048_576).contains(&n) {
                return Err(format!(
                    "java.lang.IllegalArgumentException: Invalid number of spaces [{n}]"
                ));
            }
            Val::str(" ".repeat(n as usize))
        }
        "substring" => {
            let chars: Vec<char> = s(0).chars().collect();
            let n = chars.len() as i64;
            let start = int(1);
            let start = if start < 0 {
                (n + start).max(0)
            } else {
                (start - 1).max(0)
            };
            let len = if v.len() > 2 { int(2) } else { n };
            let end = (start + len.max(0)).min(n);
            if start >= n {
                Val::str(String::new())
            } else {
                Val::str(chars[start as usize..end as usize].iter().collect::<String>())
            }
        }
        "left" => Val::str(s(0).chars().take(int(1).max(0) as usize).collect::<String>()),
        "right" => {
            let chars: Vec<char> = s(0).chars().collect();
            let n = int(1).max(0) as usize;
            Val::str(chars[chars.len().saturating_sub(n)..].iter().collect::<String>())
        }
        "locate" => {
            let hay: Vec<char> = s(0).chars().collect();
            let needle: Vec<char> = s(1).chars().collect();
            let start = if v.len() > 2 {
                (int(2) - 1).max(0) as usize
            } else {
                0
            };
            let mut pos = 0;
            if needle.is_empty() {
                pos = start.min(hay.len()) + 1;
            } else {
                for i in start..hay.len() {
                    if hay[i..].starts_with(&needle) {
                        pos = i + 1;
                        break;
                    }
                }
            }
            Val::Int(pos as i64)
        }
        "starts_with" => Val::Bool(s(0).starts_with(&s(1))),
        "ends_with" => Val::Bool(s(0).ends_with(&s(1))),
        "replace" => match regex::Regex::new(&s(1)) {
            Ok(re) => Val::str(
                re.replace_all(&s(0), java_replacement(&s(2)).as_str())
                    .into_owned(),
            ),
            Err(e) => return Err(format!("java.util.regex.PatternSyntaxException: {e}")),
        },
        "url_decode" => Val::str(url_decode(&s(0)).ok_or_else(|| {
            "java.lang.IllegalArgumentException: URLDecoder: Illegal hex characters in escape (%) pattern"
                .to_string()
        })?),
        "url_encode" => Val::str(url_encode(&s(0))),
        "abs" => match &v[0] {
            Val::Int(i) => Val::Int(i.checked_abs().ok_or_else(|| overflow_msg(node.ty))?),
            Val::Double(d) => Val::Double(d.abs()),
            x => x.clone(),
        },
        "floor" => match &v[0] {
            Val::Double(d) => Val::Double(d.floor()),
            x => x.clone(),
        },
        "ceil" => match &v[0] {
            Val::Double(d) => Val::Double(d.ceil()),
            x => x.clone(),
        },
        "signum" => Val::Double(
            v[0].as_f64()
                .map(|d| if d == 0.0 { 0.0 } else { d.signum() })
                .unwrap_or(0.0),
        ),
        "pow" => {
            let r = v[0].as_f64().unwrap_or(0.0).powf(v[1].as_f64().unwrap_or(0.0));
            if !r.is_finite() {
                return Err(
                    "java.lang.ArithmeticException: not a finite double number: ".to_string()
                        + &format_double(r),
                );
            }
            Val::Double(r)
        }
        "sqrt" => {
            let d = v[0].as_f64().unwrap_or(0.0);
            if d < 0.0 {
                return Err("java.lang.ArithmeticException: Square root of negative".into());
            }
            Val::Double(d.sqrt())
        }
        "log10" => {
            let d = v[0].as_f64().unwrap_or(0.0);
            if d <= 0.0 {
                return Err("java.lang.ArithmeticException: Log of non-positive number".into());
            }
            Val::Double(d.log10())
        }
        "log" => {
            let (b, x) = if v.len() == 2 {
                (v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0))
            } else {
                (std::f64::consts::E, v[0].as_f64().unwrap_or(0.0))
            };
            if x <= 0.0 || b <= 0.0 {
                return Err("java.lang.ArithmeticException: Log of non-positive number".into());
            }
            Val::Double(x.ln() / b.ln())
        }
        "exp" => Val::Double(v[0].as_f64().unwrap_or(0.0).exp()),
        "cos" | "acos" | "cosh" | "sin" | "asin" | "sinh" | "tan" | "atan" | "tanh" | "to_degrees"
        | "to_radians" | "cbrt" => {
            let x = v[0].as_f64().unwrap_or(0.0);
            let r = match name {
                "cos" => x.cos(),
                "acos" => x.acos(),
                "cosh" => x.cosh(),
                "sin" => x.sin(),
                "asin" => x.asin(),
                "sinh" => x.sinh(),
                "tan" => x.tan(),
                "atan" => x.atan(),
                "tanh" => x.tanh(),
                _ => x.cbrt(),
            };
            if r.is_nan() {
                return Err(format!(
                    "java.lang.ArithmeticException: {name} of {} is not a number",
                    format_double(x)
                ));
            }
            Val::Double(r)
        }
        "atan2" => Val::Double(v[0].as_f64().unwrap_or(0.0).atan2(v[1].as_f64().unwrap_or(0.0))),
        "hypot" => Val::Double(v[0].as_f64().unwrap_or(0.0).hypot(v[1].as_f64().unwrap_or(0.0))),
        "date_trunc" | "bucket" if v.len() == 2 => {
            let (span, date) = if name == "bucket" {
                (&v[1], &v[0])
            } else {
                (&v[0], &v[1])
            };
            match (date, span) {
                (Val::Date(d), span) => Val::Date(trunc_date(*d, span).ok_or("date_trunc: bad interval")?),
                (x, Val::Int(_) | Val::Double(_)) => {
                    let w = span.as_f64().unwrap_or(1.0);
                    Val::Double((x.as_f64().unwrap_or(0.0) / w).floor() * w)
                }
                _ => Val::Null,
            }
        }
        "bucket" => bucket_auto(v)?,
        "date_extract" => {
            let Val::Date(d) = &v[1] else { return Ok(Val::Null) };
            date_extract(&s(0), *d)?
        }
        "date_diff" => {
            let (Val::Date(a), Val::Date(b)) = (&v[1], &v[2]) else {
                return Ok(Val::Null);
            };
            let r = date_diff(&s(0), *a, *b)?;
            Val::Int(i32::try_from(r).map_err(|_| {
                format!(
                    "org.elasticsearch.xpack.esql.core.InvalidArgumentException: [{r}] out of [integer] range"
                )
            })? as i64)
        }
        "date_format" => {
            let Val::Date(d) = &v[1] else { return Ok(Val::Null) };
            Val::str(crate::datefmt::format(*d, &s(0)))
        }
        "date_parse" => {
            let text = s(1);
            match crate::datefmt::parse(&text, &s(0)) {
                Some(d) => Val::Date(d),
                None => {
                    return Err(format!(
                        "java.lang.IllegalArgumentException: failed to parse date field [{text}] with format [{}]",
                        s(0)
                    ));
                }
            }
        }
        "ip_prefix" => {
            let Val::Ip(ip) = &v[0] else { return Ok(Val::Null) };
            let is_v4 = ip[..12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
            // both lengths are validated, whatever the address family
            for (l, max, kind) in [(int(1), 32, "v4"), (int(2), 128, "v6")] {
                if !(0..=max).contains(&l) {
                    return Err(format!(
                        "java.lang.IllegalArgumentException: Prefix length {kind} must be in range [0, {max}], found {l}"
                    ));
                }
            }
            let len = if is_v4 { int(1) } else { int(2) };
            let bits = if is_v4 { len + 96 } else { len };
            let a = u128::from_be_bytes(*ip);
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            let mut r = a & mask;
            if is_v4 {
                r |= 0xffff_u128 << 32;
            }
            Val::Ip(r.to_be_bytes())
        }
        _ => Val::Null,
    })
}

fn is_ws(c: char) -> bool {
    c.is_whitespace()
}

/// Java's `$1` group references map to the regex crate's `${1}`.
fn java_replacement(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if n == '$' {
                        out.push_str("$$");
                    } else {
                        out.push(n);
                    }
                }
            }
            '$' => {
                let mut num = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    num.push(*d);
                    chars.next();
                }
                if num.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{num}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` decoding, as Java's `URLDecoder`.
pub fn url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Truncates epoch millis down to a multiple of `span` (UTC calendar for periods).
pub fn trunc_date(ms: i64, span: &Val) -> Option<i64> {
    match span {
        Val::Duration(d) if *d > 0 => Some(ms - ms.rem_euclid(*d)),
        Val::Period(months, days) if *months > 0 && *days == 0 => {
            let dt = Utc.timestamp_millis_opt(ms).single()?;
            // months counted from 0001-01, as java.time's proleptic calendar aligns them
            let total = (dt.year() as i64 - 1) * 12 + dt.month0() as i64;
            let t = total - total.rem_euclid(*months as i64);
            let d = NaiveDate::from_ymd_opt((t.div_euclid(12) + 1) as i32, (t.rem_euclid(12) + 1) as u32, 1)?;
            Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?).timestamp_millis())
        }
        Val::Period(0, days) if *days > 0 => {
            const DAY: i64 = 86_400_000;
            let day = ms.div_euclid(DAY);
            let t = if *days == 7 {
                // weeks start on Monday; 1970-01-01 was a Thursday
                day - (day + 3).rem_euclid(7)
            } else {
                day - day.rem_euclid(*days as i64)
            };
            Some(t * DAY)
        }
        _ => None,
    }
}

fn bucket_auto(v: &[Val]) -> Result<Val, String> {
    // BUCKET(field, buckets, from, to)
    if v.len() != 4 {
        return Ok(Val::Null);
    }
    let n = v[1].as_i64().unwrap_or(1).max(1);
    match &v[0] {
        Val::Date(d) => {
            let (Some(from), Some(to)) = (date_arg(&v[2]), date_arg(&v[3])) else {
                return Ok(Val::Null);
            };
            let span = pick_date_rounding(from, to, n);
            Ok(Val::Date(trunc_date(*d, &span).unwrap_or(*d)))
        }
        x => {
            let (Some(from), Some(to), Some(x)) = (v[2].as_f64(), v[3].as_f64(), x.as_f64()) else {
                return Ok(Val::Null);
            };
            let w = nice_width(from, to, n);
            Ok(Val::Double((x / w).floor() * w))
        }
    }
}

fn date_arg(v: &Val) -> Option<i64> {
    match v {
        Val::Date(d) => Some(*d),
        Val::Str(s) => parse_date(s),
        _ => None,
    }
}

fn nice_width(from: f64, to: f64, n: i64) -> f64 {
    let precise = (to - from) / n as f64;
    let nice = 10f64.powf(precise.log10().floor());
    if precise / nice <= 1.0 {
        nice
    } else if precise / nice <= 2.0 {
        nice * 2.0
    } else if precise / nice <= 5.0 {
        nice * 5.0
    } else {
        nice * 10.0
    }
}

fn pick_date_rounding(from: i64, to: i64, n: i64) -> Val {
    const S: i64 = 1000;
    let durations = [
        S,
        5 * S,
        10 * S,
        30 * S,
        60 * S,
        5 * 60 * S,
        10 * 60 * S,
        30 * 60 * S,
        3600 * S,
        3 * 3600 * S,
        12 * 3600 * S,
        86_400 * S,
    ];
    for d in durations {
        let from_t = from - from.rem_euclid(d);
        if (to - from_t) / d < n {
            return Val::Duration(d);
        }
    }
    if (to - from) / (7 * 86_400 * S) < n {
        return Val::Period(0, 7);
    }
    for m in [1, 3, 12] {
        if (to - from) / (m as i64 * 30 * 86_400 * S) < n {
            return Val::Period(m, 0);
        }
    }
    Val::Period(120, 0)
}

fn date_extract(part: &str, ms: i64) -> Result<Val, String> {
    let dt = Utc
        .timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| "invalid date".to_string())?;
    let v: i64 = match part.to_ascii_lowercase().as_str() {
        "year" => dt.year() as i64,
        "month_of_year" => dt.month() as i64,
        "day_of_month" => dt.day() as i64,
        "day_of_year" => dt.ordinal() as i64,
        "day_of_week" => dt.weekday().number_from_monday() as i64,
        "hour_of_day" => dt.hour() as i64,
        "minute_of_hour" => dt.minute() as i64,
        "minute_of_day" => (dt.hour() * 60 + dt.minute()) as i64,
        "second_of_minute" => dt.second() as i64,
        "second_of_day" => dt.num_seconds_from_midnight() as i64,
        "milli_of_second" => ms.rem_euclid(1000),
        "milli_of_day" => ms.rem_euclid(86_400_000),
        "micro_of_second" => ms.rem_euclid(1000) * 1000,
        "nano_of_second" => ms.rem_euclid(1000) * 1_000_000,
        "epoch_day" => ms.div_euclid(86_400_000),
        "aligned_week_of_year" => ((dt.ordinal() - 1) / 7 + 1) as i64,
        "aligned_week_of_month" => ((dt.day() - 1) / 7 + 1) as i64,
        "aligned_day_of_week_in_year" => ((dt.ordinal() - 1) % 7 + 1) as i64,
        "aligned_day_of_week_in_month" => ((dt.day() - 1) % 7 + 1) as i64,
        "proleptic_month" => dt.year() as i64 * 12 + dt.month0() as i64,
        "year_of_era" => dt.year().abs() as i64,
        "era" => (dt.year() > 0) as i64,
        "ampm_of_day" => (dt.hour() >= 12) as i64,
        "hour_of_ampm" => (dt.hour() % 12) as i64,
        "clock_hour_of_ampm" => (if dt.hour() % 12 == 0 { 12 } else { dt.hour() % 12 }) as i64,
        "clock_hour_of_day" => (if dt.hour() == 0 { 24 } else { dt.hour() }) as i64,
        "instant_seconds" => ms.div_euclid(1000),
        "offset_seconds" => 0,
        _ => {
            return Err(format!(
                "java.lang.IllegalArgumentException: No enum constant java.time.temporal.ChronoField.{}",
                part.to_ascii_uppercase()
            ));
        }
    };
    Ok(Val::Int(v))
}

fn date_diff(unit: &str, a: i64, b: i64) -> Result<i64, String> {
    let diff = b - a;
    let months = || -> Result<i64, String> {
        let (x, y) = (
            Utc.timestamp_millis_opt(a).single().ok_or("bad date")?,
            Utc.timestamp_millis_opt(b).single().ok_or("bad date")?,
        );
        let mut m = (y.year() as i64 - x.year() as i64) * 12 + (y.month() as i64 - x.month() as i64);
        // adjust when the day/time of month has not been reached
        let xr = (x.day(), x.num_seconds_from_midnight(), a.rem_euclid(1000));
        let yr = (y.day(), y.num_seconds_from_midnight(), b.rem_euclid(1000));
        if m > 0 && yr < xr {
            m -= 1;
        } else if m < 0 && yr > xr {
            m += 1;
        }
        Ok(m)
    };
    Ok(match unit.to_ascii_lowercase().as_str() {
        "year" | "years" | "yy" | "yyyy" => months()? / 12,
        "quarter" | "quarters" | "qq" | "q" => months()? / 3,
        "month" | "months" | "mm" | "m" => months()?,
        "week" | "weeks" | "wk" | "ww" => diff / (7 * 86_400_000),
        "day" | "days" | "dd" | "d" | "dayofyear" | "dy" | "y" => diff / 86_400_000,
        "hour" | "hours" | "hh" => diff / 3_600_000,
        "minute" | "minutes" | "mi" | "n" => diff / 60_000,
        "second" | "seconds" | "ss" | "s" => diff / 1000,
        "millisecond" | "milliseconds" | "ms" => diff,
        "microsecond" | "microseconds" | "mcs" => diff.saturating_mul(1000),
        "nanosecond" | "nanoseconds" | "ns" => diff.saturating_mul(1_000_000),
        other => {
            return Err(format!(
                "java.lang.IllegalArgumentException: A value of [YEAR, QUARTER, MONTH, DAYOFYEAR, DAY, WEEK, WEEKDAY, HOUR, MINUTE, SECOND, MILLISECOND, MICROSECOND, NANOSECOND] or their aliases is required; received [{other}]"
            ));
        }
    })
}

/// Folds a foldable expression to a literal value (used for constant arguments).
pub fn fold(e: &Ex, now_millis: i64) -> Val {
    let mut w = crate::expr::Warnings::default();
    let mut cx = Ctx {
        now_millis,
        warnings: &mut w,
    };
    e.eval(&[], &mut cx)
}
