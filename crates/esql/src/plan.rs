//! The executable plan the analyzer produces: the source (index fields or a literal row), a
//! list of stages over rows of a known layout, and the output columns.

use std::sync::Arc;

use crate::agg::AggSpec;
use crate::expr::Ex;
use crate::types::DataType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Source,
    Id,
    Index,
    Version,
}

#[derive(Debug, Clone)]
pub struct SourceField {
    pub name: String,
    pub ty: DataType,
    pub kind: FieldKind,
    /// False for fields the query names but never reads (they stay null).
    pub load: bool,
    /// Storage precision of `float`/`half_float` fields, which Elasticsearch returns widened
    /// to double (`2.03` reads back as `2.0299999713897705`).
    pub precision: Precision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Exact,
    Float,
    HalfFloat,
}

#[derive(Debug, Clone)]
pub enum SourcePlan {
    From(Vec<SourceField>),
    /// ROW: expressions evaluated when the execution starts (warnings included).
    Row(Vec<Ex>),
}

#[derive(Debug, Clone)]
pub struct SortSpec {
    pub key: Ex,
    pub desc: bool,
    pub nulls_first: bool,
}

/// `STATS`: group expressions over the input, aggregates, and output expressions over the
/// temporary row `[group keys..., aggregate results...]`.
#[derive(Debug)]
pub struct StatsSpec {
    pub groups: Vec<Ex>,
    pub aggs: Vec<AggSpec>,
    pub outputs: Vec<Ex>,
    /// For `INLINE STATS`: which input columns are kept ahead of the outputs.
    pub keep_input: Vec<usize>,
    /// Group keys appended to the input row before aggregating (aggregate arguments may
    /// name grouping aliases).
    pub group_cols: Vec<usize>,
}

#[derive(Debug, Clone)]
pub enum Stage {
    Filter(Ex),
    Append(Ex),
    Project(Vec<usize>),
    MvExpand(usize),
    Dissect(Arc<crate::dissect::Dissect>, Ex),
    Grok(Arc<crate::grok::Grok>, Ex),
    Stats(Arc<StatsSpec>),
    InlineStats(Arc<StatsSpec>),
    Sort(Arc<Vec<SortSpec>>),
    TopN(Arc<Vec<SortSpec>>, usize),
    Limit(usize),
}

impl Stage {
    /// Stages that need to see more than one row before they can emit.
    pub fn is_breaker(&self) -> bool {
        matches!(
            self,
            Stage::Stats(_) | Stage::InlineStats(_) | Stage::Sort(_) | Stage::TopN(..) | Stage::Limit(_)
        )
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub indices: Vec<String>,
    pub source: SourcePlan,
    pub stages: Vec<Stage>,
    /// Width of the row each stage receives.
    pub widths: Vec<usize>,
    pub columns: Vec<(String, DataType)>,
    /// Warnings known at compile time (shadowed fields, always-null expressions).
    pub warnings: Vec<String>,
}

impl Plan {
    /// Which source columns the plan reads (backward liveness over the stages).
    pub fn live_source(&self) -> Vec<bool> {
        let mut live = vec![true; self.columns.len()];
        for (i, st) in self.stages.iter().enumerate().rev() {
            let w = self.widths[i];
            let mut inn = vec![false; w];
            let mark = |e: &Ex, inn: &mut Vec<bool>| {
                e.columns(&mut |c| {
                    if c < inn.len() {
                        inn[c] = true
                    }
                })
            };
            match st {
                Stage::Filter(e) => {
                    inn[..w].copy_from_slice(&live[..w]);
                    mark(e, &mut inn);
                }
                Stage::Append(e) => {
                    inn[..w].copy_from_slice(&live[..w]);
                    mark(e, &mut inn);
                }
                Stage::Project(idx) => {
                    for (j, &src) in idx.iter().enumerate() {
                        if live.get(j).copied().unwrap_or(true) {
                            inn[src] = true;
                        }
                    }
                }
                Stage::MvExpand(c) => {
                    inn[..w].copy_from_slice(&live[..w]);
                    inn[*c] = true;
                }
                Stage::Dissect(_, e) | Stage::Grok(_, e) => {
                    inn[..w].copy_from_slice(&live[..w]);
                    mark(e, &mut inn);
                }
                Stage::Stats(s) => {
                    for g in &s.groups {
                        mark(g, &mut inn);
                    }
                    for a in &s.aggs {
                        // columns past the input are grouping keys appended for the aggregates
                        a.columns(&mut |c| {
                            if c < inn.len() {
                                inn[c] = true
                            }
                        });
                    }
                }
                Stage::InlineStats(_) => inn.iter_mut().for_each(|x| *x = true),
                Stage::Sort(keys) | Stage::TopN(keys, _) => {
                    inn[..w].copy_from_slice(&live[..w]);
                    for k in keys.iter() {
                        mark(&k.key, &mut inn);
                    }
                }
                Stage::Limit(_) => inn[..w].copy_from_slice(&live[..w]),
            }
            live = inn;
        }
        live
    }
}
