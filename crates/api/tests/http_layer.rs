//! The HTTP layer under every route: a request whose body the daemon refuses before reading
//! it (a bad parameter, a route that does not exist) still gets its answer, as from dockerd
//! (Go's server reads an unread body before answering), rather than the client being cut off
//! mid-upload with a broken pipe.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{http, Daemon};

/// Bigger than the socket buffers, so an unread upload would block and then break.
const UPLOAD: usize = 900 * 1024;

#[test]
fn refused_uploads_get_the_answer_not_a_broken_pipe() {
    let d = Daemon::start();
    let body = vec![b'x'; UPLOAD];
    let tar = [("Content-Type", "application/x-tar")];
    // A bad parameter, answered before the body is looked at.
    let r = http(&d.socket, "POST", "/images/load?quiet=maybe", &tar, &body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.message().contains("quiet"), "{}", r.text());
    // No such route (a build context sent to a daemon without a builder).
    let r = http(&d.socket, "POST", "/v1.41/nosuchroute", &tar, &body);
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.message(), "page not found");
    // No such container for an archive upload.
    let r = http(
        &d.socket,
        "PUT",
        "/containers/nosuch/archive?path=/",
        &tar,
        &body,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.message().contains("nosuch"), "{}", r.text());
    // The daemon still answers afterwards.
    assert_eq!(http(&d.socket, "GET", "/_ping", &[], b"").status, 200);
}
