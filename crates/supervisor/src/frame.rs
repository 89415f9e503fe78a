//! Docker's stdcopy framing of attach and exec streams: an 8-byte header
//! `[stream, 0, 0, 0, len u32 big-endian]` then the payload.

/// Stream id of stdout frames (and of everything with a tty).
pub const STDOUT: u8 = 1;
/// Stream id of stderr frames.
pub const STDERR: u8 = 2;
/// Stream id of the last frame, whose payload is `{"exit_code":N}`.
pub const EXIT: u8 = 255;

/// Appends one frame to `out`. Payloads are at most one read buffer, far below 4 GiB.
pub fn push(out: &mut Vec<u8>, stream: u8, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.push(stream);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload[..len as usize]);
}

/// Appends the final frame carrying the exit code.
pub fn push_exit(out: &mut Vec<u8>, exit_code: i32) {
    push(
        out,
        EXIT,
        format!("{{\"exit_code\":{exit_code}}}").as_bytes(),
    );
}

/// Splits a complete byte stream into frames; a trailing partial frame is returned as the
/// remainder. Used by clients and tests.
pub fn split(mut buf: &[u8]) -> (Vec<(u8, Vec<u8>)>, &[u8]) {
    let mut frames = Vec::new();
    while buf.len() >= 8 {
        let len = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
        if buf.len() < 8 + len {
            break;
        }
        frames.push((buf[0], buf[8..8 + len].to_vec()));
        buf = &buf[8 + len..];
    }
    (frames, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut out = Vec::new();
        push(&mut out, STDOUT, b"hello\n");
        push(&mut out, STDERR, b"");
        push_exit(&mut out, 3);
        out.push(1);
        let (frames, rest) = split(&out);
        assert_eq!(
            frames,
            vec![
                (1, b"hello\n".to_vec()),
                (2, Vec::new()),
                (255, b"{\"exit_code\":3}".to_vec())
            ]
        );
        assert_eq!(rest, &[1]);
        assert_eq!(&out[..8], &[1, 0, 0, 0, 0, 0, 0, 6]);
    }
}
