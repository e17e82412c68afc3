//! Every refusal reason, good machines, and machines that pass running in
//! maybenot's own framework without an action the fork cannot take.
//! (Over 450 lines on purpose: one table of cases whose 15 tests share the
//! machine builders at the top; split, the builders would need a module
//! of their own and every case would import them.)

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::io::{Read, Write};
use std::str::FromStr;
use std::time::{Duration, Instant};

use maybenot::constants::{STATECANCEL, STATEEND};
use maybenot::dist::{Dist, DistType};
use maybenot::event::Event;
use maybenot::framework::{Action, Framework, MachineId, TriggerEvent};
use maybenot::machine::Machine;
use maybenot::state::State;

use crate::check::{check_all, check_machine, padding_sizes, Report, Sizes, MAX_MACHINES};
use crate::describe::describe;
use crate::ffi::{wgcore_maybenot_check, wgcore_maybenot_describe, wgcore_maybenot_free};
use crate::wire::{max_decoded_len, MAX_STATES};

const MTU: u16 = 1420;

fn dist(dist: DistType, param1: f64, param2: f64, start: f64, max: f64) -> Dist {
    Dist {
        dist,
        param1,
        param2,
        start,
        max,
    }
}

fn state(transitions: &[(Event, &[(usize, f64)])], states: usize) -> State {
    let t = transitions
        .iter()
        .map(|(e, targets)| (*e, targets.iter().copied().collect::<HashMap<_, _>>()))
        .collect();
    State::new(t, states)
}

fn machine(states: Vec<State>) -> Machine {
    Machine {
        allowed_padding_bytes: 0,
        max_padding_frac: 0.0,
        allowed_blocked_microsec: 0,
        max_blocking_frac: 0.0,
        states,
        include_small_packets: false,
    }
}

/// Idle until a packet is sent, then pad to the MTU every millisecond, five
/// times, then idle again.
fn good() -> Machine {
    let mut idle = state(&[(Event::NonPaddingSent, &[(1, 1.0)])], 2);
    idle.limit = dist(DistType::Uniform, 0.0, 0.0, 0.0, 0.0);
    let mut pad = state(
        &[
            (Event::PaddingSent, &[(1, 1.0)]),
            (Event::LimitReached, &[(0, 1.0)]),
        ],
        2,
    );
    pad.timeout = dist(DistType::Uniform, 1000.0, 1000.0, 0.0, 0.0);
    pad.limit = dist(DistType::Uniform, 5.0, 5.0, 0.0, 0.0);
    machine(vec![idle, pad])
}

/// One state that pads to the MTU 1 ms after every packet sent.
pub(crate) fn pad_after_every_send() -> Machine {
    let mut pad = state(&[(Event::NonPaddingSent, &[(0, 1.0)])], 1);
    pad.timeout = dist(DistType::Uniform, 1000.0, 1000.0, 0.0, 0.0);
    machine(vec![pad])
}

/// `good()` with the padding state's action replaced.
fn padding(action: Dist) -> Machine {
    let mut m = good();
    m.states[1].action = action;
    m
}

fn refusal(text: &str, mtu: u16) -> String {
    match check_machine(text, mtu).refusal {
        Some(reason) => reason,
        None => panic!("accepted: {text}"),
    }
}

fn assert_refused(text: &str, mtu: u16, needle: &str) {
    let reason = refusal(text, mtu);
    assert!(reason.contains(needle), "{reason:?} lacks {needle:?}");
}

fn zlib_hex(raw: &[u8]) -> String {
    let mut e = libflate::zlib::Encoder::new(Vec::new()).unwrap();
    e.write_all(raw).unwrap();
    hex::encode(e.finish().into_result().unwrap())
}

fn raw_bytes(m: &Machine) -> Vec<u8> {
    let compressed = hex::decode(m.serialize()).unwrap();
    let mut out = Vec::new();
    libflate::zlib::Decoder::new(&compressed[..])
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Offset of state `s`'s distribution `d` (0 action, 1 limit, 2 timeout)
/// in a machine of `states` states.
fn dist_offset(states: usize, s: usize, d: usize) -> usize {
    37 + s * (3 * 34 + 4 + (states + 2) * 64) + d * 34
}

#[test]
fn good_machines_pass() {
    let text = good().serialize();
    for mtu in [0, 4, MTU, u16::MAX] {
        let v = check_machine(&text, mtu);
        assert_eq!(v.refusal, None);
        assert_eq!(v.machine.unwrap(), good());
    }
    // Padding sizes within 4..=MTU, transitions that do nothing half the
    // time, and events the fork never sends are all fine.
    let mut m = padding(dist(DistType::Poisson, 500.0, 0.0, 4.0, 1420.0));
    m.states[0] = state(
        &[
            (Event::NonPaddingSent, &[(1, 0.5)]),
            (Event::UpdateMTU, &[(0, 1.0)]),
        ],
        2,
    );
    assert_eq!(check_machine(&m.serialize(), MTU).refusal, None);
}

#[test]
fn text_that_is_not_a_machine_is_refused() {
    assert_refused("", MTU, "is empty");
    assert_refused("xyz0", MTU, "is not hex");
    assert_refused("abc", MTU, "is not hex");
    assert_refused("00ff00ff", MTU, "is not zlib data");
    // A zlib header, then garbage: maybenot 1.1.3 unwraps this read.
    assert_refused("789c00ff00ff00ff", MTU, "corrupt zlib data");
    assert_refused(
        &"0".repeat(crate::wire::MAX_TEXT_LEN + 2),
        MTU,
        "characters long",
    );
    assert_refused(
        &zlib_hex(&vec![0; max_decoded_len() + 1]),
        MTU,
        "decompresses to more than",
    );
    assert_refused(&zlib_hex(&[1]), MTU, "too short to hold a version");
}

#[test]
fn wrong_versions_and_layouts_are_refused() {
    let mut raw = raw_bytes(&good());
    raw[0] = 2;
    assert_refused(&zlib_hex(&raw), MTU, "is version 2");
    assert_refused(
        &zlib_hex(&[1, 0, 0, 0]),
        MTU,
        "too short for a version 1 machine",
    );
    let mut header = raw_bytes(&good())[..37].to_vec();
    header[35..37].copy_from_slice(&0u16.to_le_bytes());
    assert_refused(&zlib_hex(&header), MTU, "has no states");
    header[35..37].copy_from_slice(&(MAX_STATES as u16 + 1).to_le_bytes());
    assert_refused(&zlib_hex(&header), MTU, "129 states, more than the 128");
    let mut raw = raw_bytes(&good());
    raw.push(0);
    assert_refused(&zlib_hex(&raw), MTU, "bytes of states where 2 states take");
}

#[test]
fn nan_and_out_of_range_fractions_are_refused() {
    // maybenot's own validate() lets NaN through.
    let mut m = good();
    m.max_padding_frac = f64::NAN;
    assert_refused(&m.serialize(), MTU, "max_padding_frac NaN, not a fraction");
    let mut m = good();
    m.max_blocking_frac = 1.5;
    assert_refused(&m.serialize(), MTU, "max_blocking_frac 1.5");
}

#[test]
fn distributions_maybenot_cannot_sample_safely_are_refused() {
    let timeout = |d| {
        let mut m = good();
        m.states[1].timeout = d;
        m.serialize()
    };
    let t = timeout(dist(DistType::Uniform, f64::NAN, 1.0, 0.0, 0.0));
    assert_refused(&t, MTU, "state 1: the timeout distribution has param1 NaN");
    let t = timeout(dist(DistType::Pareto, 1.0, 1.0, f64::INFINITY, 0.0));
    assert_refused(&t, MTU, "has start inf");
    let t = timeout(dist(DistType::Binomial, 10.0, 0.5, 0.0, 0.0));
    assert_refused(&t, MTU, "is Binomial");
    let t = timeout(dist(DistType::Uniform, 1e9, 1e9 + 1.0, 0.0, 0.0));
    assert_refused(&t, MTU, "narrower than 1/65536");
    let t = timeout(dist(DistType::Uniform, -1e308, 1e308, 0.0, 0.0));
    assert_refused(&t, MTU, "overflowing");
    // Geometric::new never returns for this p: reaching maybenot would hang.
    let t = timeout(dist(DistType::Geometric, 1e-300, 0.0, 0.0, 0.0));
    assert_refused(&t, MTU, "is Geometric with probability 1e-300");
    let mut limit = good();
    limit.states[0].limit = dist(DistType::Poisson, f64::INFINITY, 0.0, 0.0, 0.0);
    assert_refused(
        &limit.serialize(),
        MTU,
        "state 0: the limit distribution has param1 inf",
    );

    let mut raw = raw_bytes(&good());
    let at = dist_offset(2, 1, 0);
    raw[at..at + 2].copy_from_slice(&11u16.to_le_bytes());
    assert_refused(
        &zlib_hex(&raw),
        MTU,
        "the action distribution has type code 11",
    );
}

#[test]
fn maybenot_validation_errors_are_reported() {
    let mut m = good();
    m.states[1].timeout = dist(DistType::Uniform, 2.0, 1.0, 0.0, 0.0);
    assert_refused(&m.serialize(), MTU, "maybenot refuses it: for Uniform dist");
    let m = machine(vec![state(
        &[(Event::PaddingSent, &[(0, 0.7), (STATEEND, 0.7)])],
        1,
    )]);
    assert_refused(
        &m.serialize(),
        MTU,
        "maybenot refuses it: found invalid total probability",
    );
}

#[test]
fn blocking_and_cancel_are_refused() {
    let mut m = good();
    m.states[1].action_is_block = true;
    assert_refused(&m.serialize(), MTU, "state 1 blocks outgoing traffic");
    let mut m = good();
    m.states[1] = state(
        &[
            (Event::PaddingSent, &[(1, 0.5)]),
            (Event::NonPaddingRecv, &[(STATECANCEL, 0.25)]),
        ],
        2,
    );
    assert_refused(
        &m.serialize(),
        MTU,
        "state 1 moves to STATECANCEL on NonPaddingRecv (probability 0.25)",
    );
    let mut m = good();
    m.states[1] = state(
        &[
            (Event::PaddingSent, &[(1, 1.0)]),
            (Event::LimitReached, &[(STATEEND, 1.0)]),
        ],
        2,
    );
    assert_refused(
        &m.serialize(),
        MTU,
        "state 1 moves to STATEEND on LimitReached (probability 1.0)",
    );
}

/// Why STATEEND is refused: a padding packet the fork had already queued
/// when the machine ended reaches maybenot as PaddingSent and it panics.
#[test]
#[should_panic(expected = "index out of bounds")]
fn maybenot_panics_on_padding_sent_after_statend() {
    let mut m = good();
    let ends = state(
        &[
            (Event::PaddingSent, &[(1, 1.0)]),
            (Event::LimitReached, &[(STATEEND, 1.0)]),
        ],
        2,
    );
    m.states[1].next_state = ends.next_state;
    let machines = vec![m];
    let mut f = Framework::new(&machines, 0.0, 0.0, MTU, Instant::now()).unwrap();
    let sent = TriggerEvent::PaddingSent {
        bytes_sent: MTU,
        machine: MachineId::from_raw(0),
    };
    let _ = f.trigger_events(
        &[TriggerEvent::NonPaddingSent { bytes_sent: 100 }],
        Instant::now(),
    );
    for _ in 0..6 {
        let _ = f.trigger_events(std::slice::from_ref(&sent), Instant::now());
    }
}

#[test]
fn padding_sizes_outside_4_to_mtu_are_refused() {
    let text = |d| padding(d).serialize();
    assert_refused(
        &text(dist(DistType::Uniform, 1.0, 2.0, 0.0, 0.0)),
        MTU,
        "state 1 can pad 1 bytes",
    );
    assert_refused(
        &text(dist(DistType::Uniform, 100.0, 200.0, 0.0, 3.0)),
        MTU,
        "can pad 3 bytes",
    );
    assert_refused(
        &text(dist(DistType::Normal, 1000.0, 1.0, 0.0, 1400.0)),
        MTU,
        "can pad 1 bytes",
    );
    assert_refused(
        &text(dist(DistType::Poisson, 1000.0, 0.0, 4.0, 0.0)),
        MTU,
        "pads an unbounded size",
    );
    let big = text(dist(DistType::Uniform, 100.0, 2000.0, 0.0, 0.0));
    assert_refused(&big, MTU, "can pad 2000 bytes");
    assert_refused(&big, MTU, "more than the MTU of 1420 bytes");
    assert_eq!(check_machine(&big, 0).refusal, None);
    assert_eq!(check_machine(&big, 2000).refusal, None);
    let huge = text(dist(DistType::Uniform, 100.0, 1e6, 0.0, 0.0));
    assert_refused(&huge, 0, "more than the largest MTU of 65535 bytes");
    assert_refused(&good().serialize(), 3, "pads to the MTU, 3 bytes");
}

#[test]
fn padding_sizes_follow_sample_size() {
    let sizes = |d| padding_sizes(&d);
    assert_eq!(sizes(Dist::new()), Sizes::Mtu);
    assert_eq!(
        sizes(dist(DistType::Uniform, 3.5, 9.4, 0.0, 0.0)),
        Sizes::Range {
            min: 4,
            max: Some(9)
        }
    );
    assert_eq!(
        sizes(dist(DistType::Uniform, -5.0, 5.0, 0.0, 0.0)),
        Sizes::Range {
            min: 1,
            max: Some(5)
        }
    );
    assert_eq!(
        sizes(dist(DistType::Beta, 2.0, 2.0, 10.0, 0.0)),
        Sizes::Range {
            min: 10,
            max: Some(11)
        }
    );
    assert_eq!(
        sizes(dist(DistType::Pareto, 3.0, 2.0, 10.0, 50.0)),
        Sizes::Range {
            min: 13,
            max: Some(50)
        }
    );
    assert_eq!(
        sizes(dist(DistType::Geometric, 1.0, 0.0, 7.0, 0.0)),
        Sizes::Range {
            min: 7,
            max: Some(7)
        }
    );
    assert_eq!(
        sizes(dist(DistType::Gamma, 1.0, 1.0, 0.0, 0.0)),
        Sizes::Range { min: 1, max: None }
    );
    // What maybenot samples stays inside the range.
    for d in [
        dist(DistType::Uniform, 3.5, 9.4, 0.0, 0.0),
        dist(DistType::Pareto, 3.0, 2.0, 10.0, 50.0),
    ] {
        let Sizes::Range {
            min,
            max: Some(max),
        } = sizes(d)
        else {
            unreachable!()
        };
        let mut s = State::new(HashMap::new(), 1);
        s.action = d;
        for _ in 0..10_000 {
            let size = s.sample_size(u64::from(MTU));
            assert!((min..=max).contains(&size), "{size} outside {min}..={max}");
        }
    }
}

#[test]
fn whole_texts_are_split_like_maybenot_ffi() {
    let one = good().serialize();
    let report = check_all(Some(&format!("{one}\r\n{one}\n")), MTU);
    assert_eq!(report.refusal, None);
    assert_eq!(report.verdicts.len(), 2);
    assert_eq!(
        check_all(None, MTU).refusal.unwrap(),
        "the machines are not UTF-8 text"
    );
    assert!(check_all(Some(""), MTU)
        .refusal
        .unwrap()
        .starts_with("no machines"));
    assert_eq!(
        check_all(Some("\n"), MTU).refusal.unwrap(),
        "machine 0: is empty"
    );
    let many = vec![one.as_str(); MAX_MACHINES + 1].join("\n");
    assert!(check_all(Some(&many), MTU)
        .refusal
        .unwrap()
        .starts_with("17 machines, more than the 16"));
    // The first refused machine is named by index and maybenot name.
    let mut blocking = good();
    blocking.states[0].action_is_block = true;
    let text = format!("{one}\n{}\nzz", blocking.serialize());
    let reason = check_all(Some(&text), MTU).refusal.unwrap();
    assert_eq!(reason, format!(
        "machine 1 ({}): state 0 blocks outgoing traffic (action_is_block): Mullvad's fork aborts the process on a blocking action",
        blocking.name()
    ));
}

#[test]
fn descriptions_are_json_with_every_verdict() {
    let one = good().serialize();
    let json = describe(&check_all(Some(&format!("{one}\nzz")), MTU));
    assert!(
        json.starts_with(r#"{"ok":false,"reason":"machine 1: is not hex"#),
        "{json}"
    );
    assert!(json.contains(r#""mtu":1420,"machines":[{"index":0,"ok":true,"reason":null,"name":""#));
    assert!(json.contains(&format!(r#""serialized":"{one}""#)));
    assert!(
        json.contains(r#""transitions":{"PaddingSent":{"1":1.0},"LimitReached":{"0":1.0}}"#),
        "{json}"
    );
    assert!(json.contains(r#""action":{"kind":"padding","dist":{"type":"None""#));
    assert!(json.contains(r#""sizes":"mtu""#));
    assert!(
        json.contains(
            r#"{"index":1,"ok":false,"reason":"is not hex (Invalid character 'z' at position 0)"}"#
        ),
        "{json}"
    );
    let escaped = describe(&Report {
        mtu: 0,
        refusal: Some("\"\\\u{1}".into()),
        verdicts: Vec::new(),
    });
    assert!(
        escaped.contains(r#"\"\\\u0001"#) && escaped.contains(r#""mtu":null"#),
        "{escaped}"
    );
}

#[test]
fn the_c_functions_check_describe_and_free() {
    let good = CString::new(good().serialize()).unwrap();
    let bad = CString::new("00").unwrap();
    unsafe {
        assert!(wgcore_maybenot_check(good.as_ptr(), MTU).is_null());
        let reason = wgcore_maybenot_check(bad.as_ptr(), MTU);
        assert_eq!(
            CStr::from_ptr(reason).to_str().unwrap(),
            "machine 0: is not zlib data (failed to fill whole buffer)"
        );
        wgcore_maybenot_free(reason);
        let reason = wgcore_maybenot_check(core::ptr::null(), MTU);
        assert!(CStr::from_ptr(reason)
            .to_str()
            .unwrap()
            .starts_with("no machines"));
        wgcore_maybenot_free(reason);
        let invalid = [0xff_u8, 0];
        let reason = wgcore_maybenot_check(invalid.as_ptr().cast(), MTU);
        assert_eq!(
            CStr::from_ptr(reason).to_str().unwrap(),
            "the machines are not UTF-8 text"
        );
        wgcore_maybenot_free(reason);
        let json = wgcore_maybenot_describe(good.as_ptr(), 0);
        assert!(CStr::from_ptr(json)
            .to_str()
            .unwrap()
            .starts_with(r#"{"ok":true,"#));
        wgcore_maybenot_free(json);
        wgcore_maybenot_free(core::ptr::null_mut());
    }
}

/// A small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick(&mut self, values: &[f64]) -> f64 {
        values[self.below(values.len() as u64) as usize]
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
    /// Mostly plausible parameters, sometimes extreme or broken ones.
    fn param(&mut self) -> f64 {
        if self.one_in(5) {
            self.pick(&[
                0.0,
                1e-300,
                1e-13,
                3.5,
                1421.0,
                1e6 + 1.0,
                1e300,
                -1.0,
                -1e300,
                f64::NAN,
                f64::INFINITY,
            ])
        } else {
            self.pick(&[0.3, 0.5, 1.0, 2.0, 4.0, 10.0, 100.0, 1000.0, 1420.0])
        }
    }
    fn dist(&mut self) -> Dist {
        let (a, b) = (self.param(), self.param());
        let (param1, param2) = if a <= b { (a, b) } else { (b, a) };
        dist(
            DistType::from(self.below(11) as u16),
            param1,
            param2,
            self.param(),
            self.param(),
        )
    }
    fn machine(&mut self) -> Machine {
        let n = 1 + self.below(4) as usize;
        let states = (0..n)
            .map(|_| {
                let mut t: HashMap<Event, HashMap<usize, f64>> = HashMap::new();
                for e in Event::iterator() {
                    if self.one_in(2) {
                        let target = match self.below(40) as usize {
                            0 => STATECANCEL,
                            1 => STATEEND,
                            i => i % n,
                        };
                        t.entry(*e)
                            .or_default()
                            .insert(target, self.pick(&[0.25, 0.5, 1.0]));
                    }
                }
                let mut s = State::new(t, n);
                s.action = if self.one_in(2) {
                    Dist::new()
                } else {
                    self.dist()
                };
                s.limit = self.dist();
                s.timeout = self.dist();
                s.action_is_block = self.one_in(16);
                s.limit_includes_nonpadding = self.one_in(2);
                s
            })
            .collect();
        let mut m = machine(states);
        m.include_small_packets = self.one_in(2);
        m
    }
}

/// Random machines: those wgcore accepts run in maybenot's framework on
/// random events and only ever ask for padding of 4..=MTU bytes.
#[test]
fn accepted_machines_only_ever_pad_within_4_to_mtu() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut accepted, mut tried) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while accepted < 500 {
        assert!(
            Instant::now() < deadline,
            "only {accepted} of {tried} random machines accepted"
        );
        tried += 1;
        let m = rng.machine();
        let text = m.serialize();
        let (Some(parsed), None) = (
            check_machine(&text, MTU).machine,
            check_machine(&text, MTU).refusal,
        ) else {
            continue;
        };
        accepted += 1;
        let machines = vec![parsed];
        let mut f = Framework::new(&machines, 0.0, 0.0, MTU, Instant::now()).unwrap();
        let mut now = Instant::now();
        for _ in 0..500 {
            now += Duration::from_micros(rng.below(10_000));
            let bytes = rng.below(u64::from(MTU) + 1) as u16;
            let event = match rng.below(4) {
                0 => TriggerEvent::NonPaddingSent { bytes_sent: bytes },
                1 => TriggerEvent::NonPaddingRecv { bytes_recv: bytes },
                2 => TriggerEvent::PaddingSent {
                    bytes_sent: bytes,
                    machine: MachineId::from_raw(0),
                },
                _ => TriggerEvent::PaddingRecv { bytes_recv: bytes },
            };
            for action in f.trigger_events(&[event], now) {
                match action {
                    Action::InjectPadding { size, .. } => {
                        assert!((4..=MTU).contains(size), "size {size}: {text}")
                    }
                    other => panic!("{other:?} from an accepted machine: {text}"),
                }
            }
        }
    }
    assert!(tried > accepted, "no random machine was refused");
}

/// The extremes the rules let through sample promptly.
#[test]
fn accepted_extremes_sample_promptly() {
    let extremes = [
        dist(DistType::Uniform, 65535.0, 65536.0, 0.0, 0.0),
        dist(DistType::Geometric, 1e-12, 0.0, 0.0, 0.0),
        dist(DistType::Geometric, 0.0, 0.0, 0.0, 0.0),
        dist(DistType::Poisson, 1e300, 0.0, 0.0, 0.0),
        dist(DistType::Beta, 1e300, 1e-300, 0.0, 0.0),
        dist(DistType::Gamma, 1e300, 1e-300, 0.0, 0.0),
        dist(DistType::Pareto, 1e-300, 1e-300, 0.0, 0.0),
        dist(DistType::Weibull, 1e-300, 1e-300, 0.0, 0.0),
        dist(DistType::Normal, 1e308, 1e308, -1e308, 0.0),
        dist(DistType::LogNormal, 1e308, 1e308, 0.0, 0.0),
    ];
    for d in extremes {
        let mut m = good();
        m.states[1].timeout = d;
        m.states[1].limit = d;
        let text = m.serialize();
        assert_eq!(check_machine(&text, MTU).refusal, None, "{d:?}");
        let parsed = Machine::from_str(&text).unwrap();
        let started = Instant::now();
        for _ in 0..1000 {
            parsed.states[1].sample_timeout();
            parsed.states[1].sample_limit();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{d:?} took {:?}",
            started.elapsed()
        );
    }
}
