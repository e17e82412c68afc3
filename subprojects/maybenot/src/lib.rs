//! libmaybenot.a for libwg: the maybenot-ffi C API the fork's DAITA calls.
pub use maybenot_ffi::*;
