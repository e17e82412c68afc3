//! Pausing a peer's maybenot framework before the fork tears it down.
//!
//! libwg links the fork with `-Wl,--wrap` for `maybenot_start`,
//! `maybenot_num_machines`, `maybenot_on_events` and `maybenot_stop`, so the
//! fork's DAITA calls the `__wrap_` functions below. The framework pointer the
//! fork holds is then a [`Paused`]: maybenot-ffi's framework plus a state that
//! libwg drives by id through `wgcore_maybenot_pause`, `_paused` and `_resume`.
//!
//! Why (ARCHITECTURE.md, "DAITA teardown"): the fork's `MaybenotDaita.Close`
//! walks its map of padding timers while its event loop may still be adding
//! to it, and a padding timer that fires while the peer stops calls through
//! the peer's DAITA field after the fork set it to nil. Both only happen
//! while maybenot hands out actions. A paused framework answers its next
//! event with one no-op padding action per machine (size 0, due at once:
//! it takes the place of any pending timer of that machine, and the fork
//! drops it before touching the peer), and every later event with nothing.
//! Once an event has been answered after the no-ops, the event loop has
//! finished writing its map and never will again.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::collections::HashMap;
use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use maybenot_ffi::{
    MaybenotAction, MaybenotDuration, MaybenotEvent, MaybenotFramework, MaybenotResult,
};

const RUNNING: u8 = 0;
const FLUSH: u8 = 1; // the next event is answered with the no-ops
const FLUSHED: u8 = 2; // the no-ops went out; the next event proves the fork took them
const QUIET: u8 = 3; // paused: no actions
const STOPPED: u8 = 4; // maybenot_stop freed it

struct Control {
    state: AtomicU8,
}

/// What the fork holds as its `MaybenotFramework *`.
struct Paused {
    framework: *mut MaybenotFramework,
    machines: usize,
    control: Arc<Control>,
}

/// maybenot-ffi's own functions. Under `-Wl,--wrap=maybenot_start` a call
/// of `maybenot_start` means `__wrap_maybenot_start`, and
/// `__real_maybenot_start` means maybenot-ffi's. GNU ld leaves the calls
/// inside this library's one LTO object alone, but LLD (zig cc links the
/// wheels' libwg.so) wraps them too, and `maybenot_ffi::maybenot_start` would
/// call the wrapper again: so the wrappers call the `__real_` names. (`cargo
/// test` links no `--wrap`: the tests call maybenot-ffi directly.)
#[cfg(not(test))]
mod real {
    use core::mem::MaybeUninit;
    use std::ffi::c_char;

    use maybenot_ffi::{MaybenotAction, MaybenotEvent, MaybenotFramework, MaybenotResult};

    extern "C" {
        #[link_name = "__real_maybenot_start"]
        pub fn maybenot_start(
            machines: *const c_char,
            max_padding_frac: f64,
            max_blocking_frac: f64,
            mtu: u16,
            out: *mut MaybeUninit<*mut MaybenotFramework>,
        ) -> MaybenotResult;
        #[link_name = "__real_maybenot_num_machines"]
        pub fn maybenot_num_machines(this: *mut MaybenotFramework) -> usize;
        #[link_name = "__real_maybenot_on_events"]
        pub fn maybenot_on_events(
            this: *mut MaybenotFramework,
            events: *const MaybenotEvent,
            num_events: usize,
            actions_out: *mut MaybeUninit<MaybenotAction>,
            num_actions_out: *mut usize,
        ) -> MaybenotResult;
        #[link_name = "__real_maybenot_stop"]
        pub fn maybenot_stop(this: *mut MaybenotFramework);
    }
}
#[cfg(test)]
use maybenot_ffi as real;

fn controls() -> &'static Mutex<HashMap<u64, Arc<Control>>> {
    static CONTROLS: std::sync::OnceLock<Mutex<HashMap<u64, Arc<Control>>>> =
        std::sync::OnceLock::new();
    CONTROLS.get_or_init(Default::default)
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static LAST_STARTED: AtomicU64 = AtomicU64::new(0);

fn control(id: u64) -> Option<Arc<Control>> {
    controls()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .cloned()
}

/// `maybenot_start` as the fork calls it: starts maybenot-ffi's framework and
/// hands out a pausable one; its id is then `wgcore_maybenot_last_started()`.
///
/// # Safety
/// As `maybenot_start`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_maybenot_start(
    machines: *const c_char,
    max_padding_frac: f64,
    max_blocking_frac: f64,
    mtu: u16,
    out: *mut MaybeUninit<*mut MaybenotFramework>,
) -> MaybenotResult {
    let Some(out) = (unsafe { out.as_mut() }) else {
        return MaybenotResult::NullPointer;
    };
    let mut framework = MaybeUninit::uninit();
    // SAFETY: passed on from our caller, with a valid out pointer.
    let result = unsafe {
        real::maybenot_start(
            machines,
            max_padding_frac,
            max_blocking_frac,
            mtu,
            &mut framework,
        )
    };
    if !matches!(result, MaybenotResult::Ok) {
        return result;
    }
    // SAFETY: maybenot_start wrote it on success.
    let framework = unsafe { framework.assume_init() };
    let control = Arc::new(Control {
        state: AtomicU8::new(RUNNING),
    });
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    controls()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, control.clone());
    LAST_STARTED.store(id, Ordering::SeqCst);
    // SAFETY: framework is live until __wrap_maybenot_stop.
    let machines = unsafe { real::maybenot_num_machines(framework) };
    out.write(
        Box::into_raw(Box::new(Paused {
            framework,
            machines,
            control,
        }))
        .cast(),
    );
    MaybenotResult::Ok
}

/// # Safety
/// `this` is NULL or came from `__wrap_maybenot_start` and is not stopped.
#[no_mangle]
pub unsafe extern "C" fn __wrap_maybenot_num_machines(this: *mut MaybenotFramework) -> usize {
    // SAFETY: see the function's contract.
    unsafe { this.cast::<Paused>().as_ref() }.map_or(0, |p| p.machines)
}

/// `maybenot_on_events`, unless paused (see the module's text).
///
/// # Safety
/// As `maybenot_on_events`, with `this` from `__wrap_maybenot_start`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_maybenot_on_events(
    this: *mut MaybenotFramework,
    events: *const MaybenotEvent,
    num_events: usize,
    actions_out: *mut MaybeUninit<MaybenotAction>,
    num_actions_out: *mut usize,
) -> MaybenotResult {
    // SAFETY: see the function's contract.
    let Some(paused) = (unsafe { this.cast::<Paused>().as_ref() }) else {
        return MaybenotResult::NullPointer;
    };
    if actions_out.is_null() || num_actions_out.is_null() {
        return MaybenotResult::NullPointer;
    }
    let state = &paused.control.state;
    let written = match state.load(Ordering::SeqCst) {
        RUNNING => {
            // SAFETY: passed on from our caller.
            return unsafe {
                real::maybenot_on_events(
                    paused.framework,
                    events,
                    num_events,
                    actions_out,
                    num_actions_out,
                )
            };
        }
        FLUSH => {
            for machine in 0..paused.machines {
                // SAFETY: the fork's buffer holds one action per machine.
                unsafe { &mut *actions_out.add(machine) }.write(no_op(machine));
            }
            // A resume in between keeps RUNNING: the no-ops only cost padding.
            let _ = state.compare_exchange(FLUSH, FLUSHED, Ordering::SeqCst, Ordering::SeqCst);
            paused.machines
        }
        _ => {
            let _ = state.compare_exchange(FLUSHED, QUIET, Ordering::SeqCst, Ordering::SeqCst);
            0
        }
    };
    // SAFETY: checked non-NULL above.
    unsafe { num_actions_out.write(written) };
    MaybenotResult::Ok
}

/// The action that replaces a machine's pending padding with nothing: the
/// fork schedules it at once and drops it for its size before touching the peer.
fn no_op(machine: usize) -> MaybenotAction {
    MaybenotAction::InjectPadding {
        machine,
        timeout: MaybenotDuration { secs: 0, nanos: 0 },
        replace: false,
        bypass: false,
        size: 0,
    }
}

/// # Safety
/// `this` is NULL or came from `__wrap_maybenot_start` and is not stopped.
#[no_mangle]
pub unsafe extern "C" fn __wrap_maybenot_stop(this: *mut MaybenotFramework) {
    if this.is_null() {
        return;
    }
    // SAFETY: see the function's contract.
    let paused = unsafe { Box::from_raw(this.cast::<Paused>()) };
    paused.control.state.store(STOPPED, Ordering::SeqCst);
    controls()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|_, c| !Arc::ptr_eq(c, &paused.control));
    // SAFETY: started by maybenot_start, stopped once, here.
    unsafe { real::maybenot_stop(paused.framework) };
}

/// The id of the framework started last (0: none yet). libwg reads it right
/// after the fork's EnableDaita, with activations serialized.
#[no_mangle]
pub extern "C" fn wgcore_maybenot_last_started() -> u64 {
    LAST_STARTED.load(Ordering::SeqCst)
}

/// Pause framework `id`: its next event gets the no-ops. 1 if it is stopped
/// (or unknown), else 0.
#[no_mangle]
pub extern "C" fn wgcore_maybenot_pause(id: u64) -> i32 {
    match control(id) {
        Some(c) => {
            let _ = c
                .state
                .compare_exchange(RUNNING, FLUSH, Ordering::SeqCst, Ordering::SeqCst);
            0
        }
        None => 1,
    }
}

/// 1 once framework `id` is quiet (an event was answered after the no-ops)
/// or stopped, else 0.
#[no_mangle]
pub extern "C" fn wgcore_maybenot_paused(id: u64) -> i32 {
    control(id).map_or(1, |c| i32::from(c.state.load(Ordering::SeqCst) >= QUIET))
}

/// Let framework `id` hand out actions again (its peer was not removed).
#[no_mangle]
pub extern "C" fn wgcore_maybenot_resume(id: u64) {
    if let Some(c) = control(id) {
        c.state.store(RUNNING, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    /// Two machines that pad 1 ms after every packet sent.
    fn start() -> (*mut MaybenotFramework, u64) {
        let machine = crate::tests::pad_after_every_send().serialize();
        let text = CString::new(format!("{machine}\n{machine}")).unwrap();
        let mut out = MaybeUninit::uninit();
        // SAFETY: valid string and out pointer.
        let result = unsafe { __wrap_maybenot_start(text.as_ptr(), 0.0, 0.0, 1420, &mut out) };
        assert!(matches!(result, MaybenotResult::Ok));
        // SAFETY: written on success.
        (unsafe { out.assume_init() }, wgcore_maybenot_last_started())
    }

    /// The actions answering one NonpaddingSent event.
    fn send(fw: *mut MaybenotFramework) -> Vec<MaybenotAction> {
        let event = MaybenotEvent {
            event_type: maybenot_ffi::MaybenotEventType::NonpaddingSent,
            xmit_bytes: 1000,
            machine: 0,
        };
        let mut actions = [MaybeUninit::<MaybenotAction>::uninit(); 2];
        let mut written = 0;
        // SAFETY: one event, room for one action per machine.
        let result =
            unsafe { __wrap_maybenot_on_events(fw, &event, 1, actions.as_mut_ptr(), &mut written) };
        assert!(matches!(result, MaybenotResult::Ok));
        // SAFETY: the first `written` were written.
        actions[..written]
            .iter()
            .map(|a| unsafe { a.assume_init() })
            .collect()
    }

    fn is_no_op(action: &MaybenotAction, want_machine: usize) -> bool {
        matches!(*action, MaybenotAction::InjectPadding { machine, timeout: MaybenotDuration { secs: 0, nanos: 0 }, size: 0, .. } if machine == want_machine)
    }

    #[test]
    fn a_paused_framework_flushes_once_then_stays_quiet_until_resumed() {
        let (fw, id) = start();
        assert_eq!(unsafe { __wrap_maybenot_num_machines(fw) }, 2);
        let running = send(fw);
        assert_eq!(running.len(), 2, "a running framework pads");
        assert!(!running.iter().enumerate().any(|(i, a)| is_no_op(a, i)));
        assert_eq!(wgcore_maybenot_pause(id), 0);
        assert_eq!(
            wgcore_maybenot_paused(id),
            0,
            "not quiet before the no-ops went out"
        );
        let flush = send(fw);
        assert!(
            flush.len() == 2 && is_no_op(&flush[0], 0) && is_no_op(&flush[1], 1),
            "{flush:?}"
        );
        assert_eq!(
            wgcore_maybenot_paused(id),
            0,
            "not quiet until an event follows the no-ops"
        );
        assert!(send(fw).is_empty());
        assert_eq!(wgcore_maybenot_paused(id), 1);
        assert!(send(fw).is_empty(), "a quiet framework stays quiet");
        wgcore_maybenot_resume(id);
        assert_eq!(wgcore_maybenot_paused(id), 0);
        assert_eq!(send(fw).len(), 2, "a resumed framework pads again");
        unsafe { __wrap_maybenot_stop(fw) };
        assert_eq!(
            wgcore_maybenot_paused(id),
            1,
            "a stopped framework counts as paused"
        );
        assert_eq!(wgcore_maybenot_pause(id), 1);
    }

    #[test]
    fn ids_follow_the_frameworks_started() {
        let (a, id_a) = start();
        let (b, id_b) = start();
        assert_ne!(id_a, id_b);
        assert_eq!(wgcore_maybenot_pause(id_a), 0);
        assert_eq!(
            send(b).len(),
            2,
            "pausing one framework leaves the other running"
        );
        unsafe {
            __wrap_maybenot_stop(a);
            __wrap_maybenot_stop(b);
        }
    }
}
