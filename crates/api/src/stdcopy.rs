//! Docker's stdcopy framing, the wire form of a container's output for HTTP clients without
//! a tty: an 8-byte header `[stream, 0, 0, 0, len u32 big-endian]` before each payload.
//! It is the API's own: the supervisor's streams reach the API as `Output` values, whatever
//! framing the supervisor uses.

/// Stream id of stdout frames.
pub const STDOUT: u8 = 1;
/// Stream id of stderr frames.
pub const STDERR: u8 = 2;

/// The header of a frame of `len` bytes on `stream`. Payloads are one read or one log
/// line, far below 4 GiB.
pub fn header(stream: u8, len: usize) -> [u8; 8] {
    let l = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    [stream, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// `payload` as one frame on `stream`.
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&header(stream, payload.len()));
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_as_docker_sends_them() {
        assert_eq!(header(STDERR, 0x0102), [2, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(frame(STDOUT, b"hi"), [1, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    }
}
