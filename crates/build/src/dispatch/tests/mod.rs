//! Tests of the dispatcher: `util` builds instructions by hand (the parser is another
//! module's), `instructions` checks each instruction's effects, `legacy` replays
//! Dockerfiles whose results were taken from dockerd's legacy builder, `props` checks
//! that arbitrary values never panic it.

mod instructions;
mod legacy;
mod props;
mod util;
