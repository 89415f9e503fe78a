//! A request body fed through a bounded channel, so an upload streams from the store with
//! a few pieces in memory instead of the whole blob or chunk.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::sync::mpsc::Receiver;

/// The receiving end as an HTTP body: ends when the sender is dropped, fails when the
/// sender sends an error.
pub(super) struct ChannelBody {
    rx: Receiver<std::io::Result<Bytes>>,
}

impl ChannelBody {
    pub(super) fn new(rx: Receiver<std::io::Result<Bytes>>) -> Self {
        ChannelBody { rx }
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|piece| piece.map(|r| r.map(Frame::data)))
    }
}
