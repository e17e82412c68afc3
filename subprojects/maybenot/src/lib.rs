//! libmaybenot.a for libwg: the maybenot-ffi C API the fork's DAITA calls,
//! and wgcore's checks of the machines handed to it (wgcore_maybenot.h).
pub use maybenot_ffi::*;

mod check;
mod describe;
mod ffi;
mod wire;

#[cfg(test)]
mod tests;
