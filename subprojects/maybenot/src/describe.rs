//! A [`Report`] as JSON, for wgDaitaDescribeMachines (libwg.h documents the
//! shape).

use std::fmt::Write;

use maybenot::dist::Dist;
use maybenot::event::Event;
use maybenot::machine::Machine;
use maybenot::state::State;

use crate::check::{padding_sizes, Report, Sizes, Verdict};

/// A JSON text under construction.
struct Json(String);

impl Json {
    fn raw(&mut self, s: &str) -> &mut Self {
        self.0.push_str(s);
        self
    }
    fn key(&mut self, key: &str) -> &mut Self {
        if !matches!(self.0.chars().last(), Some('{' | '[') | None) {
            self.0.push(',');
        }
        self.string(key).raw(":")
    }
    fn string(&mut self, s: &str) -> &mut Self {
        self.0.push('"');
        for c in s.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                c if u32::from(c) < 0x20 => {
                    let _ = write!(self.0, "\\u{:04x}", u32::from(c));
                }
                c => self.0.push(c),
            }
        }
        self.0.push('"');
        self
    }
    fn opt_string(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.string(s),
            None => self.raw("null"),
        }
    }
    /// Shortest round-trip form; JSON has no NaN or infinity: null.
    fn number(&mut self, x: f64) -> &mut Self {
        if x.is_finite() {
            let _ = write!(self.0, "{x:?}");
            self
        } else {
            self.raw("null")
        }
    }
    fn integer(&mut self, n: u64) -> &mut Self {
        let _ = write!(self.0, "{n}");
        self
    }
    fn boolean(&mut self, b: bool) -> &mut Self {
        self.raw(if b { "true" } else { "false" })
    }
}

/// The report as one JSON object.
pub fn describe(report: &Report) -> String {
    let mut j = Json(String::new());
    j.raw("{");
    j.key("ok").boolean(report.refusal.is_none());
    j.key("reason").opt_string(report.refusal.as_deref());
    j.key("mtu");
    match report.mtu {
        0 => j.raw("null"),
        mtu => j.integer(mtu.into()),
    };
    j.key("machines").raw("[");
    for (index, verdict) in report.verdicts.iter().enumerate() {
        if index > 0 {
            j.raw(",");
        }
        machine(&mut j, index, verdict);
    }
    j.raw("]}");
    j.0
}

fn machine(j: &mut Json, index: usize, verdict: &Verdict) {
    j.raw("{");
    j.key("index").integer(index as u64);
    j.key("ok").boolean(verdict.refusal.is_none());
    j.key("reason").opt_string(verdict.refusal.as_deref());
    if let Some(m) = &verdict.machine {
        parsed(j, m);
    }
    j.raw("}");
}

fn parsed(j: &mut Json, m: &Machine) {
    j.key("name").string(&m.name());
    j.key("serialized").string(&m.serialize());
    j.key("allowed_padding_bytes")
        .integer(m.allowed_padding_bytes);
    j.key("max_padding_frac").number(m.max_padding_frac);
    j.key("allowed_blocked_microsec")
        .integer(m.allowed_blocked_microsec);
    j.key("max_blocking_frac").number(m.max_blocking_frac);
    j.key("include_small_packets")
        .boolean(m.include_small_packets);
    j.key("states").raw("[");
    for (s, state) in m.states.iter().enumerate() {
        if s > 0 {
            j.raw(",");
        }
        self::state(j, state, m.states.len());
    }
    j.raw("]");
}

fn state(j: &mut Json, state: &State, states: usize) {
    j.raw("{");
    j.key("action").raw("{");
    j.key("kind").string(if state.action_is_block {
        "block"
    } else {
        "padding"
    });
    j.key("dist");
    dist(j, &state.action);
    if !state.action_is_block {
        j.key("sizes");
        match padding_sizes(&state.action) {
            Sizes::Mtu => j.string("mtu"),
            Sizes::Range { min, max } => {
                j.raw("[").integer(min).raw(",");
                match max {
                    Some(max) => j.integer(max),
                    None => j.raw("null"),
                };
                j.raw("]")
            }
        };
    }
    j.raw("}");
    j.key("bypass").boolean(state.bypass);
    j.key("replace").boolean(state.replace);
    j.key("limit");
    dist(j, &state.limit);
    j.key("limit_includes_nonpadding")
        .boolean(state.limit_includes_nonpadding);
    j.key("timeout");
    dist(j, &state.timeout);
    j.key("transitions").raw("{");
    for event in Event::iterator() {
        let Some(row) = state.next_state.get(event) else {
            continue;
        };
        j.key(&event.to_string()).raw("{");
        for (target, &p) in row.iter().enumerate().filter(|(_, &p)| p != 0.0) {
            match target {
                t if t < states => j.key(&t.to_string()),
                t if t == states => j.key("cancel"),
                _ => j.key("end"),
            };
            j.number(p);
        }
        j.raw("}");
    }
    j.raw("}}");
}

fn dist(j: &mut Json, d: &Dist) {
    j.raw("{");
    j.key("type").string(&d.dist.to_string());
    j.key("param1").number(d.param1);
    j.key("param2").number(d.param2);
    j.key("start").number(d.start);
    j.key("max").number(d.max);
    j.key("text").string(&d.to_string());
    j.raw("}");
}
