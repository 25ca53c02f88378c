//! The runtime: running loaded rules over events.
//!
//! [`compile`] turns loaded rule files into runnable detections (ES|QL or EQL queries checked
//! against the field catalog) and explains every rule it cannot run. [`order`] merges several
//! inputs into one stream in event-time order, tolerating bounded disorder. [`hunt`] replays that
//! stream through every rule on Kibana's schedule, simulated, and raises each alert exactly once.

pub mod compile;
pub mod hunt;
pub mod order;

pub use compile::{CompiledRule, Detection, RuleProblem, compile_rules};
pub use hunt::{Hunt, HuntOptions, HuntReport, Rehydrate, RuleReport};
pub use order::{OrderedEvents, event_time};
