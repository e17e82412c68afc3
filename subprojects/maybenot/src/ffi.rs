//! wgcore's own C functions in libmaybenot.a (wgcore_maybenot.h). They never
//! unwind: the library is built with panic = "abort", so nothing here
//! unwraps on input.

use core::ffi::{c_char, CStr};
use std::ffi::CString;

use crate::check::{check_all, Report};
use crate::describe::describe;

/// `Report` for a C string that may be NULL or not UTF-8.
///
/// # Safety
/// `machines` is NULL or a NUL-terminated string.
unsafe fn report(machines: *const c_char, mtu: u16) -> Report {
    if machines.is_null() {
        return check_all(Some(""), mtu);
    }
    // SAFETY: see the function's contract.
    let text = unsafe { CStr::from_ptr(machines) };
    check_all(text.to_str().ok(), mtu)
}

fn into_c(s: String) -> *mut c_char {
    CString::new(s.replace('\0', "\u{fffd}"))
        .unwrap_or_default()
        .into_raw()
}

/// Why the LF-separated `machines` are unsafe to run for a tunnel of `mtu`
/// bytes (0: unknown), or NULL if every one is safe.
///
/// # Safety
/// `machines` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn wgcore_maybenot_check(machines: *const c_char, mtu: u16) -> *mut c_char {
    // SAFETY: passed on from our caller.
    match unsafe { report(machines, mtu) }.refusal {
        Some(reason) => into_c(reason),
        None => core::ptr::null_mut(),
    }
}

/// JSON describing every machine and its verdict; never NULL.
///
/// # Safety
/// `machines` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn wgcore_maybenot_describe(
    machines: *const c_char,
    mtu: u16,
) -> *mut c_char {
    // SAFETY: passed on from our caller.
    into_c(describe(&unsafe { report(machines, mtu) }))
}

/// Free a string returned by the functions above; NULL is ignored.
///
/// # Safety
/// `s` is NULL or came from one of them and was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn wgcore_maybenot_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: see the function's contract.
        drop(unsafe { CString::from_raw(s) });
    }
}
