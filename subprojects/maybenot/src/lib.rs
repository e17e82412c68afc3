//! libmaybenot.a for libwg: the maybenot-ffi C API the fork's DAITA calls,
//! wgcore's checks of the machines handed to it and the pausable framework
//! libwg puts between the two (wgcore_maybenot.h).
pub use maybenot_ffi::*;

mod check;
mod describe;
mod ffi;
mod pause;
mod wire;

#[cfg(test)]
mod tests;
