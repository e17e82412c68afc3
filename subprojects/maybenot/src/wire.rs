//! A machine string decoded as maybenot 1.1.3 decodes it (hex, zlib, the
//! version 1 layout), but bounded and without panicking.
//!
//! `Machine::from_str` unwraps a failing zlib read and builds every
//! distribution while validating (a Geometric with a tiny probability never
//! finishes building), so [`crate::check`] looks at these raw fields first
//! and only hands maybenot strings it is known to parse.

use std::io::Read;

use maybenot::constants::SERIALIZEDDISTSIZE;
use maybenot::event::Event;

/// The most states wgcore accepts in one machine: parsing allocates
/// 64·n² bytes of transition matrix, and every event walks a row of it.
pub const MAX_STATES: usize = 128;
/// The longest machine string wgcore accepts, in characters.
pub const MAX_TEXT_LEN: usize = 4 << 20;

/// version, allowed_padding_bytes, max_padding_frac,
/// allowed_blocked_microsec, max_blocking_frac, include_small_packets,
/// state count.
const HEADER_LEN: usize = 2 + 4 * 8 + 1 + 2;
/// The three distributions of a state, in their serialized order.
pub const DIST_ROLES: [&str; 3] = ["action", "limit", "timeout"];

/// Bytes of one serialized state in a machine of `states` states.
fn state_len(states: usize) -> usize {
    3 * SERIALIZEDDISTSIZE + 4 + (states + 2) * 8 * Event::iterator().len()
}

/// The largest decompressed machine wgcore reads.
pub fn max_decoded_len() -> usize {
    HEADER_LEN + MAX_STATES * state_len(MAX_STATES)
}

/// A distribution as serialized: the type code and four parameters.
#[derive(Debug, Clone, Copy)]
pub struct RawDist {
    pub code: u16,
    pub param1: f64,
    pub param2: f64,
    pub start: f64,
    pub max: f64,
}

/// The fields of a version 1 machine that must be checked before maybenot
/// parses it.
#[derive(Debug)]
pub struct RawMachine {
    pub max_padding_frac: f64,
    pub max_blocking_frac: f64,
    /// Per state: action, limit and timeout distributions.
    pub dists: Vec<[RawDist; 3]>,
}

/// Reads little-endian fields from a byte slice; `None` past its end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        let end = self.pos.checked_add(N)?;
        let out = self.buf.get(self.pos..end)?.try_into().ok()?;
        self.pos = end;
        Some(out)
    }
    fn u16(&mut self) -> Option<u16> {
        self.bytes().map(u16::from_le_bytes)
    }
    fn f64(&mut self) -> Option<f64> {
        self.bytes().map(f64::from_le_bytes)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.pos = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())?;
        Some(())
    }
    fn dist(&mut self) -> Option<RawDist> {
        Some(RawDist {
            code: self.u16()?,
            param1: self.f64()?,
            param2: self.f64()?,
            start: self.f64()?,
            max: self.f64()?,
        })
    }
}

/// Hex, then zlib, reading at most `limit` bytes of output.
fn inflate(text: &str, limit: usize) -> Result<Vec<u8>, String> {
    let compressed = hex::decode(text).map_err(|e| format!("is not hex ({e})"))?;
    let decoder = libflate::zlib::Decoder::new(&compressed[..])
        .map_err(|e| format!("is not zlib data ({e})"))?;
    let mut out = Vec::new();
    let read_limit = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(read_limit)
        .read_to_end(&mut out)
        .map_err(|e| format!("holds corrupt zlib data ({e})"))?;
    if out.len() > limit {
        return Err(format!(
            "decompresses to more than {limit} bytes, the size of a machine of {MAX_STATES} states"
        ));
    }
    Ok(out)
}

/// Decode one machine string far enough to check it.
pub fn decode(text: &str) -> Result<RawMachine, String> {
    if text.is_empty() {
        return Err("is empty".into());
    }
    if text.len() > MAX_TEXT_LEN {
        return Err(format!(
            "is {} characters long, more than the {MAX_TEXT_LEN} wgcore accepts",
            text.len()
        ));
    }
    let buf = inflate(text, max_decoded_len())?;
    let mut r = Reader { buf: &buf, pos: 0 };
    let version = r.u16().ok_or("is too short to hold a version")?;
    if version != 1 {
        return Err(format!(
            "is version {version}; maybenot 1.1.3 reads version 1 machines only"
        ));
    }
    let header = || -> Option<(f64, f64, usize)> {
        let mut h = Reader { buf: &buf, pos: 2 };
        h.skip(8)?;
        let padding = h.f64()?;
        h.skip(8)?;
        let blocking = h.f64()?;
        h.skip(1)?;
        Some((padding, blocking, usize::from(h.u16()?)))
    };
    let (max_padding_frac, max_blocking_frac, states) =
        header().ok_or("is too short for a version 1 machine")?;
    if states == 0 {
        return Err("has no states".into());
    }
    if states > MAX_STATES {
        return Err(format!(
            "has {states} states, more than the {MAX_STATES} wgcore accepts"
        ));
    }
    let want = states * state_len(states);
    let got = buf.len().saturating_sub(HEADER_LEN);
    if got != want {
        return Err(format!(
            "holds {got} bytes of states where {states} states take {want}"
        ));
    }
    let mut r = Reader {
        buf: &buf,
        pos: HEADER_LEN,
    };
    let mut dists = Vec::with_capacity(states);
    for _ in 0..states {
        let start = r.pos;
        dists.push([
            r.dist().ok_or("is truncated")?,
            r.dist().ok_or("is truncated")?,
            r.dist().ok_or("is truncated")?,
        ]);
        r.pos = start;
        r.skip(state_len(states)).ok_or("is truncated")?;
    }
    Ok(RawMachine {
        max_padding_frac,
        max_blocking_frac,
        dists,
    })
}
