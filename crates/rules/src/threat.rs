//! MITRE ATT&CK mappings of a rule (`[[rule.threat]]`), in the shape Kibana stores them in
//! `kibana.alert.rule.threat`: `framework`, `tactic {id, name, reference}`, and `technique`
//! entries each with optional `subtechnique` entries.

use serde::Serialize;

/// One `[[rule.threat]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Threat {
    pub framework: String,
    pub tactic: ThreatRef,
    pub technique: Vec<Technique>,
}

/// An `id`/`name`/`reference` triple (a tactic or a subtechnique).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreatRef {
    pub id: String,
    pub name: String,
    pub reference: String,
}

/// A technique with its subtechniques (omitted from JSON when there are none, as in Kibana).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Technique {
    pub id: String,
    pub name: String,
    pub reference: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subtechnique: Vec<ThreatRef>,
}

impl Threat {
    /// The entry as an `events::Value` (for alert documents).
    pub fn to_value(&self) -> events::Value {
        events::Value::from_serde(serde_json::to_value(self).expect("threat serializes"))
    }
}
