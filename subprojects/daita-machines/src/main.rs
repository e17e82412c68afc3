//! The maybenot machines wgcore ships, built with maybenot 1.1.3's own types
//! and printed as the Python module `wgcore/_daita_machines.py`:
//!
//!     cargo run --locked --release --manifest-path subprojects/daita-machines/Cargo.toml \
//!         > wgcore/_daita_machines.py
//!
//! Every machine pads to the MTU (no action distribution), so it fits any
//! tunnel, and avoids what wgcore refuses for Mullvad's fork: no blocking,
//! no STATECANCEL, no STATEEND. A state that must never pad has a limit of
//! 0; states that wait for their own padding also move on a share of the
//! app's packets, so a padding cap from `activate_daita` pauses them rather
//! than stopping them for good. `wgcore.daita` documents what each hides and
//! costs. Timeouts are whole microseconds, so the output is the same on
//! every platform.

use std::collections::HashMap;

use maybenot::dist::{Dist, DistType};
use maybenot::event::Event;
use maybenot::machine::Machine;
use maybenot::state::State;

const MS: f64 = 1000.0;
const S: f64 = 1_000_000.0;

/// Share of app packets that re-arm a state waiting for its own padding.
const NUDGE: f64 = 0.01;

fn dist(dist: DistType, param1: f64, param2: f64) -> Dist {
    Dist {
        dist,
        param1,
        param2,
        start: 0.0,
        max: 0.0,
    }
}

fn constant(x: f64) -> Dist {
    dist(DistType::Uniform, x, x)
}

/// Exponentially distributed (Weibull of shape 1) with this mean, in whole
/// microseconds, capped at `cap` means. Memoryless: re-arming it early does
/// not change when padding goes out.
fn exponential(mean: f64, cap: f64) -> Dist {
    let mean = mean.round();
    Dist {
        max: (mean * cap).round(),
        ..dist(DistType::Weibull, mean, 1.0)
    }
}

/// A whole number from `low` to `high`, each equally likely.
fn count(low: u32, high: u32) -> Dist {
    dist(
        DistType::Uniform,
        f64::from(low) - 0.5,
        f64::from(high) + 0.5,
    )
}

fn state(transitions: &[(Event, &[(usize, f64)])], states: usize) -> State {
    let t = transitions
        .iter()
        .map(|(event, targets)| (*event, targets.iter().copied().collect::<HashMap<_, _>>()))
        .collect();
    State::new(t, states)
}

/// Pads to the MTU after `timeout` each time it is entered or its padding
/// was sent, `limit` times, then moves on.
fn padding(
    timeout: Dist,
    limit: Dist,
    transitions: &[(Event, &[(usize, f64)])],
    states: usize,
) -> State {
    let mut s = state(transitions, states);
    s.timeout = timeout;
    s.limit = limit;
    s
}

/// Waits for `transitions` and never pads.
fn idle(transitions: &[(Event, &[(usize, f64)])], states: usize) -> State {
    padding(Dist::new(), constant(0.0), transitions, states)
}

fn machine(states: Vec<State>, allowed_padding_bytes: u64, max_padding_frac: f64) -> Machine {
    Machine {
        allowed_padding_bytes,
        max_padding_frac,
        allowed_blocked_microsec: 0,
        max_blocking_frac: 0.0,
        states,
        include_small_packets: false,
    }
}

/// Rayleigh scales (seconds) FRONT picks from, equally likely, per burst.
const FRONT_WINDOWS: [f64; 3] = [0.5, 1.0, 2.0];
/// A burst is four segments of equal Rayleigh probability (quartiles, the
/// last cut at 97 %), each of 1..=29 packets (mean 15).
const FRONT_QUANTILES: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 0.97];
const FRONT_PER_SEGMENT: (u32, u32) = (1, 29);
/// Mean pause after a burst before the next app packet can start another.
const FRONT_COOLDOWN: f64 = 30.0 * S;

/// FRONT (Gong & Wang, USENIX Security 2020): the first app packet after a
/// quiet spell starts a burst of padding whose rate follows a Rayleigh
/// curve of a randomly picked scale.
fn front() -> Machine {
    let segments = FRONT_QUANTILES.len() - 1;
    let states = 2 + FRONT_WINDOWS.len() * segments;
    let cooldown = states - 1;
    let first = |w: usize| 1 + w * segments;
    let share = 1.0 / FRONT_WINDOWS.len() as f64;
    let starts: Vec<(usize, f64)> = (0..FRONT_WINDOWS.len())
        .map(|w| (first(w), share))
        .collect();
    let mut all = vec![idle(
        &[
            (Event::NonPaddingSent, &starts),
            (Event::NonPaddingRecv, &starts),
        ],
        states,
    )];
    let mean_count = f64::from(FRONT_PER_SEGMENT.0 + FRONT_PER_SEGMENT.1) / 2.0;
    let at = |p: f64, scale: f64| scale * (-2.0 * (1.0 - p).ln()).sqrt();
    for (w, &scale) in FRONT_WINDOWS.iter().enumerate() {
        for j in 0..segments {
            let me = first(w) + j;
            let next = if j + 1 < segments { me + 1 } else { cooldown };
            let length = at(FRONT_QUANTILES[j + 1], scale * S) - at(FRONT_QUANTILES[j], scale * S);
            all.push(padding(
                exponential(length / mean_count, 5.0),
                count(FRONT_PER_SEGMENT.0, FRONT_PER_SEGMENT.1),
                &[
                    (Event::PaddingSent, &[(me, 1.0)]),
                    (Event::LimitReached, &[(next, 1.0)]),
                    (Event::NonPaddingSent, &[(me, NUDGE)]),
                ],
                states,
            ));
        }
    }
    all.push(padding(
        exponential(FRONT_COOLDOWN, 10.0),
        Dist::new(),
        &[
            (Event::PaddingSent, &[(0, 1.0)]),
            (Event::NonPaddingSent, &[(cooldown, NUDGE)]),
        ],
        states,
    ));
    machine(all, 0, 0.0)
}

const RATE_INTERVAL: f64 = 20.0 * MS;
const RATE_PACKETS: u32 = 50;

/// Constant-rate cover: from an app packet on, one padding packet every
/// RATE_INTERVAL, RATE_PACKETS of them, re-armed by the next app packet.
fn constant_rate() -> Machine {
    let states = 2;
    machine(
        vec![
            idle(
                &[
                    (Event::NonPaddingSent, &[(1, 1.0)]),
                    (Event::NonPaddingRecv, &[(1, 1.0)]),
                ],
                states,
            ),
            padding(
                constant(RATE_INTERVAL),
                constant(f64::from(RATE_PACKETS)),
                &[
                    (Event::PaddingSent, &[(1, 1.0)]),
                    (Event::LimitReached, &[(0, 1.0)]),
                    (Event::NonPaddingSent, &[(1, NUDGE)]),
                ],
                states,
            ),
        ],
        0,
        0.0,
    )
}

/// The pause in sending that ends a burst, and the tail's spacing and length.
const BURST_GAP: (f64, f64) = (10.0 * MS, 30.0 * MS);
const TAIL_GAP: (f64, f64) = (5.0 * MS, 25.0 * MS);
const TAIL_PACKETS: (u32, u32) = (1, 4);
const BURST_FREE_BYTES: u64 = 100_000;
const BURST_MAX_FRAC: f64 = 0.2;

/// Break burst: when the app stops sending for a moment, send 2..=5 padding
/// packets, so a burst's end and size do not show on the wire.
fn break_burst() -> Machine {
    let states = 3;
    machine(
        vec![
            idle(&[(Event::NonPaddingSent, &[(1, 1.0)])], states),
            padding(
                dist(DistType::Uniform, BURST_GAP.0, BURST_GAP.1),
                Dist::new(),
                &[
                    (Event::NonPaddingSent, &[(1, 1.0)]),
                    (Event::PaddingSent, &[(2, 1.0)]),
                ],
                states,
            ),
            padding(
                dist(DistType::Uniform, TAIL_GAP.0, TAIL_GAP.1),
                count(TAIL_PACKETS.0, TAIL_PACKETS.1),
                &[
                    (Event::PaddingSent, &[(2, 1.0)]),
                    (Event::LimitReached, &[(0, 1.0)]),
                    (Event::NonPaddingSent, &[(1, 1.0)]),
                ],
                states,
            ),
        ],
        BURST_FREE_BYTES,
        BURST_MAX_FRAC,
    )
}

fn main() {
    println!(
        "\"\"\"The maybenot machines wgcore ships, built with maybenot 1.1.3.\n\n\
         Generated by subprojects/daita-machines: do not edit. From the repository root:\n\
         cargo run --locked --release --manifest-path subprojects/daita-machines/Cargo.toml \
         > wgcore/_daita_machines.py\n\
         wgcore.daita documents each machine.\n\"\"\""
    );
    for (name, m) in [
        ("FRONT", front()),
        ("CONSTANT_RATE", constant_rate()),
        ("BREAK_BURST", break_burst()),
    ] {
        let text = m.serialize();
        println!("\n# {} states, maybenot name {}", m.states.len(), m.name());
        println!("{name} = (");
        for chunk in text.as_bytes().chunks(72) {
            println!("    \"{}\"", String::from_utf8_lossy(chunk));
        }
        println!(")");
    }
}
