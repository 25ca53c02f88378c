//! Aggregate functions: their specification (argument, per-aggregate `WHERE` filter) and
//! their partial state, fed one row at a time and mergeable across executions.

use std::sync::Arc;

use crate::expr::{Ctx, Ex, ExK, Loc, MV_WARNING};
use crate::fxhash::FxHashSet;
use crate::types::{DataType, Val};

pub const AGGREGATES: &[&str] = &[
    "count",
    "count_distinct",
    "values",
    "sum",
    "min",
    "max",
    "avg",
    "median",
    "top",
    "percentile",
    "median_absolute_deviation",
    "std_dev",
    "variance",
    "std_var",
    "weighted_avg",
    "present",
    "absent",
];

#[derive(Debug, Clone, PartialEq)]
pub enum AggKind {
    CountStar,
    Count,
    CountDistinct,
    Values,
    Sum,
    Min,
    Max,
    Avg,
    Median,
    Percentile(f64),
    Top(usize, bool),
    Mad,
    StdDev,
    Variance,
    WeightedAvg,
    /// `PRESENT(x)` (true when any value) and `ABSENT(x)` (the negation).
    Present(bool),
}

#[derive(Debug, Clone)]
pub struct AggSpec {
    pub kind: AggKind,
    pub arg: Option<Ex>,
    /// The weight of `WEIGHTED_AVG`.
    pub arg2: Option<Ex>,
    /// The aggregate call, for warnings.
    pub loc: Arc<Loc>,
    pub filter: Option<Ex>,
    /// The argument's type.
    pub arg_ty: DataType,
    /// The result type.
    pub ty: DataType,
}

impl AggSpec {
    pub fn columns(&self, f: &mut dyn FnMut(usize)) {
        if let Some(a) = &self.arg {
            a.columns(f);
        }
        if let Some(a) = &self.arg2 {
            a.columns(f);
        }
        if let Some(x) = &self.filter {
            x.columns(f);
        }
    }

    pub fn new_state(&self) -> AggState {
        match self.kind {
            AggKind::CountStar | AggKind::Count | AggKind::Present(_) => AggState::Count(0),
            AggKind::CountDistinct => AggState::Distinct(FxHashSet::default()),
            AggKind::Values => AggState::Values(Vec::new(), FxHashSet::default()),
            AggKind::Sum => AggState::Sum {
                int: 0,
                float: 0.0,
                comp: 0.0,
                seen: false,
                overflow: false,
            },
            AggKind::Min | AggKind::Max => AggState::Best(None),
            AggKind::Avg => AggState::Avg {
                sum: 0.0,
                comp: 0.0,
                n: 0,
            },
            AggKind::Median | AggKind::Percentile(_) | AggKind::Mad | AggKind::Top(..) => {
                AggState::All(Vec::new())
            }
            AggKind::StdDev | AggKind::Variance => AggState::Welford {
                n: 0,
                mean: 0.0,
                m2: 0.0,
            },
            AggKind::WeightedAvg => AggState::Weighted {
                vw: 0.0,
                w: 0.0,
                n: 0,
            },
        }
    }

    /// Feeds one row.
    pub fn feed(&self, st: &mut AggState, row: &[Val], cx: &mut Ctx) {
        if let Some(f) = &self.filter
            && !matches!(f.eval(row, cx), Val::Bool(true))
        {
            return;
        }
        if self.kind == AggKind::CountStar {
            if let AggState::Count(n) = st {
                *n += 1;
            }
            return;
        }
        let Some(arg) = &self.arg else { return };
        // a plain column is read in place (no copy of its value)
        if let (ExK::Col(i), None) = (&arg.kind, &self.arg2) {
            if let Some(v) = row.get(*i) {
                for x in v.values() {
                    self.feed_one(st, x);
                }
            }
            return;
        }
        let v = arg.eval(row, cx);
        if let (Some(a2), AggState::Weighted { vw, w, n }) = (&self.arg2, &mut *st) {
            let weight = a2.eval(row, cx);
            if v.is_multi() || weight.is_multi() {
                cx.warnings.add(&self.loc, MV_WARNING);
                return;
            }
            if let (Some(x), Some(y)) = (v.as_f64(), weight.as_f64()) {
                *vw += x * y;
                *w += y;
                *n += 1;
            }
            return;
        }
        for x in v.values() {
            self.feed_one(st, x);
        }
    }

    fn feed_one(&self, st: &mut AggState, x: &Val) {
        match st {
            AggState::Count(n) => *n += 1,
            AggState::Distinct(set) => {
                if !set.contains(x) {
                    set.insert(x.clone());
                }
            }
            AggState::Values(list, set) => {
                if !set.contains(x) {
                    set.insert(x.clone());
                    list.push(x.clone());
                }
            }
            AggState::Sum {
                int,
                float,
                comp,
                seen,
                overflow,
            } => {
                *seen = true;
                match x {
                    Val::Int(i) if self.ty != DataType::Double => match int.checked_add(*i) {
                        Some(s) => *int = s,
                        None => *overflow = true,
                    },
                    _ => kahan(float, comp, x.as_f64().unwrap_or(0.0)),
                }
            }
            AggState::Best(best) => {
                let better = match best {
                    None => true,
                    Some(b) => {
                        let o = x.cmp_same(b);
                        if self.kind == AggKind::Min {
                            o.is_lt()
                        } else {
                            o.is_gt()
                        }
                    }
                };
                if better {
                    *best = Some(x.clone());
                }
            }
            AggState::Avg { sum, comp, n } => {
                kahan(sum, comp, x.as_f64().unwrap_or(0.0));
                *n += 1;
            }
            AggState::All(list) => list.push(x.clone()),
            AggState::Weighted { .. } => {}
            AggState::Welford { n, mean, m2 } => {
                let v = x.as_f64().unwrap_or(0.0);
                *n += 1;
                let d = v - *mean;
                *mean += d / *n as f64;
                *m2 += d * (v - *mean);
            }
        }
    }

    /// The aggregate's value; `warn` receives overflow messages.
    pub fn finish(&self, st: &AggState, warn: &mut dyn FnMut(&str)) -> Val {
        if self.ty == DataType::Null && !matches!(self.kind, AggKind::Present(_)) {
            return Val::Null;
        }
        match st {
            AggState::Count(n) => match self.kind {
                AggKind::Present(want) => Val::Bool((*n > 0) == want),
                _ => Val::Int(*n as i64),
            },
            AggState::Distinct(s) => Val::Int(s.len() as i64),
            AggState::Values(list, _) => Val::from_values(list.clone()),
            AggState::Sum {
                int,
                float,
                seen,
                overflow,
                ..
            } => {
                if !*seen {
                    Val::Null
                } else if self.ty == DataType::Double {
                    Val::Double(*float)
                } else if *overflow {
                    warn("java.lang.ArithmeticException: long overflow");
                    Val::Null
                } else {
                    Val::Int(*int)
                }
            }
            AggState::Best(b) => b.clone().unwrap_or_default(),
            AggState::Avg { sum, n, .. } => {
                if *n == 0 {
                    Val::Null
                } else {
                    Val::Double(sum / *n as f64)
                }
            }
            AggState::All(list) => match &self.kind {
                AggKind::Top(n, asc) => {
                    let mut v = list.clone();
                    v.sort_by(|a, b| a.cmp_same(b));
                    if !asc {
                        v.reverse();
                    }
                    v.truncate(*n);
                    Val::from_values(v)
                }
                AggKind::Median => percentile(list, 50.0),
                AggKind::Percentile(p) => percentile(list, *p),
                AggKind::Mad => {
                    let Some(med) = percentile(list, 50.0).as_f64() else {
                        return Val::Null;
                    };
                    let devs: Vec<Val> = list
                        .iter()
                        .map(|v| Val::Double((v.as_f64().unwrap_or(0.0) - med).abs()))
                        .collect();
                    percentile(&devs, 50.0)
                }
                _ => Val::Null,
            },
            AggState::Welford { n, m2, .. } => {
                if *n == 0 {
                    Val::Null
                } else if self.kind == AggKind::Variance {
                    Val::Double(m2 / *n as f64)
                } else {
                    Val::Double((m2 / *n as f64).sqrt())
                }
            }
            AggState::Weighted { vw, w, n } => {
                if *n == 0 {
                    Val::Null
                } else if *w == 0.0 {
                    warn("java.lang.ArithmeticException: / by zero");
                    Val::Null
                } else {
                    Val::Double(vw / w)
                }
            }
        }
    }
}

fn kahan(sum: &mut f64, comp: &mut f64, v: f64) {
    let y = v - *comp;
    let t = *sum + y;
    *comp = (t - *sum) - y;
    *sum = t;
}

/// Percentile with linear interpolation between closest ranks.
fn percentile(list: &[Val], p: f64) -> Val {
    let mut v: Vec<f64> = list.iter().filter_map(Val::as_f64).collect();
    if v.is_empty() {
        return Val::Null;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 1 {
        return Val::Double(v[0]);
    }
    let rank = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    Val::Double(v[lo] + (v[hi] - v[lo]) * frac)
}

#[derive(Debug, Clone)]
pub enum AggState {
    Count(u64),
    Distinct(FxHashSet<Val>),
    Values(Vec<Val>, FxHashSet<Val>),
    Sum {
        int: i64,
        float: f64,
        comp: f64,
        seen: bool,
        overflow: bool,
    },
    Best(Option<Val>),
    Avg {
        sum: f64,
        comp: f64,
        n: u64,
    },
    All(Vec<Val>),
    Welford {
        n: u64,
        mean: f64,
        m2: f64,
    },
    Weighted {
        vw: f64,
        w: f64,
        n: u64,
    },
}

impl AggState {
    /// Folds another partial state of the same aggregate into this one.
    pub fn merge(&mut self, other: AggState, spec: &AggSpec) {
        match (self, other) {
            (AggState::Count(a), AggState::Count(b)) => *a += b,
            (AggState::Distinct(a), AggState::Distinct(b)) => a.extend(b),
            (AggState::Values(la, sa), AggState::Values(lb, _)) => {
                for v in lb {
                    if sa.insert(v.clone()) {
                        la.push(v);
                    }
                }
            }
            (
                AggState::Sum {
                    int,
                    float,
                    comp,
                    seen,
                    overflow,
                },
                AggState::Sum {
                    int: i2,
                    float: f2,
                    seen: s2,
                    overflow: o2,
                    ..
                },
            ) => {
                match int.checked_add(i2) {
                    Some(s) => *int = s,
                    None => *overflow = true,
                }
                kahan(float, comp, f2);
                *seen |= s2;
                *overflow |= o2;
            }
            (a @ AggState::Best(_), AggState::Best(Some(b))) => spec.feed_one(a, &b),
            (AggState::Avg { sum, comp, n }, AggState::Avg { sum: s2, n: n2, .. }) => {
                kahan(sum, comp, s2);
                *n += n2;
            }
            (AggState::All(a), AggState::All(b)) => a.extend(b),
            (AggState::Weighted { vw, w, n }, AggState::Weighted { vw: v2, w: w2, n: n2 }) => {
                *vw += v2;
                *w += w2;
                *n += n2;
            }
            (
                AggState::Welford { n, mean, m2 },
                AggState::Welford {
                    n: nb,
                    mean: mb,
                    m2: m2b,
                },
            ) => {
                if nb == 0 {
                    return;
                }
                let na = *n as f64;
                let nbf = nb as f64;
                let tot = na + nbf;
                let d = mb - *mean;
                *mean += d * nbf / tot;
                *m2 += m2b + d * d * na * nbf / tot;
                *n += nb;
            }
            _ => {}
        }
    }
}
