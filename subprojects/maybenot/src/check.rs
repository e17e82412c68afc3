//! wgcore's rules for the maybenot machines Mullvad's wireguard-go fork runs.
//!
//! The fork handles one kind of action, padding: on a Cancel or
//! BlockOutgoing action it panics and takes the host process with it, and it
//! drops padding outside 4..MTU bytes. maybenot itself panics or never
//! returns on some distributions it accepts, and panics on a padding packet
//! sent by a machine that reached STATEEND. A machine passes only if none
//! of that can happen; README "DAITA machines" lists the rules.

use std::str::FromStr;

use maybenot::dist::{Dist, DistType};
use maybenot::event::Event;
use maybenot::machine::Machine;

use crate::wire::{self, RawDist, RawMachine, DIST_ROLES};

/// The most machines wgcore runs for one peer: every event visits each.
pub const MAX_MACHINES: usize = 16;
/// The fork drops padding shorter than its header.
pub const MIN_PADDING: u64 = 4;
/// The MTU a size is held to when the tunnel's is not known.
const LARGEST_MTU: u16 = u16::MAX;
/// rand_distr 0.4.3 never finishes building a Geometric below 2^-54.
const MIN_GEOMETRIC_P: f64 = 1e-12;
/// rand 0.8 takes about |high| / (high - low) / 2 steps to set up each
/// Uniform sample; this bounds it to about 32768.
const UNIFORM_MIN_RELATIVE_WIDTH: f64 = 1.0 / 65536.0;

/// The padding sizes a state's action can produce, in bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Sizes {
    /// No distribution: always the MTU.
    Mtu,
    /// Sampled, from `min` to `max` (`None`: unbounded), before maybenot
    /// caps them at the MTU.
    Range { min: u64, max: Option<u64> },
}

/// One machine string and what wgcore made of it.
pub struct Verdict {
    /// The machine, if maybenot parsed it.
    pub machine: Option<Machine>,
    /// Why wgcore refuses it, if it does.
    pub refusal: Option<String>,
}

/// Every machine of one LF-separated text, checked for one MTU.
pub struct Report {
    /// The MTU sizes were held to; 0 when not known.
    pub mtu: u16,
    /// Why the text as a whole is refused: the first refused machine, or no
    /// machines, too many, or not UTF-8.
    pub refusal: Option<String>,
    pub verdicts: Vec<Verdict>,
}

/// Check every machine of `text` (`None`: not UTF-8) for a tunnel of `mtu`
/// bytes (0: unknown). Lines are split exactly as maybenot-ffi splits them.
pub fn check_all(text: Option<&str>, mtu: u16) -> Report {
    let refused = |reason: String| Report {
        mtu,
        refusal: Some(reason),
        verdicts: Vec::new(),
    };
    let Some(text) = text else {
        return refused("the machines are not UTF-8 text".into());
    };
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return refused("no machines: the text is empty".into());
    }
    if lines.len() > MAX_MACHINES {
        return refused(format!(
            "{} machines, more than the {MAX_MACHINES} wgcore runs for one peer",
            lines.len()
        ));
    }
    let verdicts: Vec<Verdict> = lines.iter().map(|line| check_machine(line, mtu)).collect();
    let refusal = verdicts.iter().enumerate().find_map(|(i, v)| {
        let reason = v.refusal.as_ref()?;
        Some(match &v.machine {
            Some(m) => format!("machine {i} ({}): {reason}", m.name()),
            None => format!("machine {i}: {reason}"),
        })
    });
    Report {
        mtu,
        refusal,
        verdicts,
    }
}

/// Check one machine string.
pub fn check_machine(text: &str, mtu: u16) -> Verdict {
    let refused = |reason| Verdict {
        machine: None,
        refusal: Some(reason),
    };
    if let Err(reason) = wire::decode(text).and_then(|raw| check_raw(&raw)) {
        return refused(reason);
    }
    let machine = match Machine::from_str(text) {
        Ok(m) => m,
        Err(e) => return refused(format!("maybenot refuses it: {e}")),
    };
    let refusal = check_parsed(&machine, mtu).err();
    Verdict {
        machine: Some(machine),
        refusal,
    }
}

/// Rules maybenot must not see broken: it would panic or spin on them.
fn check_raw(raw: &RawMachine) -> Result<(), String> {
    for (name, frac) in [
        ("max_padding_frac", raw.max_padding_frac),
        ("max_blocking_frac", raw.max_blocking_frac),
    ] {
        if !(0.0..=1.0).contains(&frac) {
            return Err(format!("has {name} {frac:?}, not a fraction in [0, 1]"));
        }
    }
    for (s, dists) in raw.dists.iter().enumerate() {
        for (role, dist) in DIST_ROLES.iter().zip(dists) {
            check_dist(dist).map_err(|e| format!("state {s}: the {role} distribution {e}"))?;
        }
    }
    Ok(())
}

/// A distribution maybenot can sample without panicking or spinning.
fn check_dist(d: &RawDist) -> Result<(), String> {
    if d.code > 10 {
        return Err(format!(
            "has type code {}, unknown to maybenot 1.1.3 (it would silently read it as none)",
            d.code
        ));
    }
    for (field, value) in [
        ("param1", d.param1),
        ("param2", d.param2),
        ("start", d.start),
        ("max", d.max),
    ] {
        if !value.is_finite() {
            return Err(format!(
                "has {field} {value:?}; every parameter must be finite"
            ));
        }
    }
    match DistType::from(d.code) {
        DistType::Binomial => Err("is Binomial, which wgcore refuses: rand_distr 0.4.3's \
                                   binomial sampler can panic (an assert in its BTPE branch), \
                                   which would abort the process"
            .into()),
        DistType::Uniform if d.param1 < d.param2 => {
            let width = d.param2 - d.param1;
            let magnitude = d.param1.abs().max(d.param2.abs());
            if width.is_finite() && width >= magnitude * UNIFORM_MIN_RELATIVE_WIDTH {
                Ok(())
            } else {
                Err(format!(
                    "is Uniform [{:?}, {:?}), narrower than 1/65536 of its magnitude or \
                     overflowing: rand 0.8 takes about magnitude/width steps to set up every sample",
                    d.param1, d.param2
                ))
            }
        }
        DistType::Geometric if d.param1 > 0.0 && d.param1 < MIN_GEOMETRIC_P => Err(format!(
            "is Geometric with probability {:?}, below {MIN_GEOMETRIC_P:?}: rand_distr 0.4.3 \
             never finishes building one below 2^-54",
            d.param1
        )),
        _ => Ok(()),
    }
}

/// Rules on the parsed machine: only padding, sized for the fork.
fn check_parsed(m: &Machine, mtu: u16) -> Result<(), String> {
    let cancel = m.states.len();
    for (s, state) in m.states.iter().enumerate() {
        if state.action_is_block {
            return Err(format!(
                "state {s} blocks outgoing traffic (action_is_block): Mullvad's fork aborts \
                 the process on a blocking action"
            ));
        }
        for event in Event::iterator() {
            let row = state.next_state.get(event);
            let p = |target: usize| {
                row.and_then(|row| row.get(target))
                    .copied()
                    .filter(|&p| p > 0.0)
            };
            if let Some(p) = p(cancel) {
                return Err(format!(
                    "state {s} moves to STATECANCEL on {event} (probability {p:?}): Mullvad's \
                     fork aborts the process on a cancel action"
                ));
            }
            if let Some(p) = p(cancel + 1) {
                return Err(format!(
                    "state {s} moves to STATEEND on {event} (probability {p:?}): a padding packet \
                     still pending then makes maybenot 1.1.3 index past its states and abort the \
                     process; end in a state with no transitions and a limit of 0 instead"
                ));
            }
        }
        check_sizes(s, &state.action, mtu)?;
    }
    Ok(())
}

fn check_sizes(s: usize, action: &Dist, mtu: u16) -> Result<(), String> {
    let (cap, cap_name) = match mtu {
        0 => (LARGEST_MTU, "the largest MTU"),
        mtu => (mtu, "the MTU"),
    };
    match padding_sizes(action) {
        Sizes::Mtu if mtu != 0 && u64::from(mtu) < MIN_PADDING => Err(format!(
            "state {s} pads to the MTU, {mtu} bytes, fewer than the fork's 4-byte minimum"
        )),
        Sizes::Mtu => Ok(()),
        Sizes::Range { min, .. } if min < MIN_PADDING => Err(format!(
            "state {s} can pad {min} bytes ({action}): the fork drops padding shorter than its \
             4-byte header; raise the action's start"
        )),
        Sizes::Range { max: None, .. } => Err(format!(
            "state {s} pads an unbounded size ({action}): give the action a max of at most \
             the MTU, or no distribution to pad to the MTU"
        )),
        Sizes::Range { max: Some(max), .. } if max > u64::from(cap) => Err(format!(
            "state {s} can pad {max} bytes ({action}), more than {cap_name} of {cap} bytes"
        )),
        Sizes::Range { .. } => Ok(()),
    }
}

/// The padding sizes `State::sample_size` can return for this action,
/// before it caps them at the MTU: the distribution's support, plus start,
/// floored at 0, capped at max when max > 0, rounded, 0 made 1.
pub fn padding_sizes(action: &Dist) -> Sizes {
    let (low, high) = match action.dist {
        DistType::None => return Sizes::Mtu,
        DistType::Uniform => (action.param1, action.param2),
        DistType::Normal => (f64::NEG_INFINITY, f64::INFINITY),
        DistType::Binomial => (0.0, (action.param1 as u64) as f64),
        DistType::Geometric if action.param1 == 1.0 => (0.0, 0.0),
        DistType::Geometric if action.param1 == 0.0 => (u64::MAX as f64, u64::MAX as f64),
        DistType::Pareto => (action.param1, f64::INFINITY),
        DistType::Beta => (0.0, 1.0),
        DistType::LogNormal
        | DistType::Geometric
        | DistType::Poisson
        | DistType::Weibull
        | DistType::Gamma => (0.0, f64::INFINITY),
    };
    let size = |x: f64| {
        let mut r = (x + action.start).max(0.0);
        if action.max > 0.0 {
            r = r.min(action.max);
        }
        r.is_finite().then(|| (r.round() as u64).max(1))
    };
    Sizes::Range {
        min: size(low).unwrap_or(u64::MAX),
        max: size(high),
    }
}
