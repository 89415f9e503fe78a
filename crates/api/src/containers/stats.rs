//! `GET /containers/{id}/stats`: the engine's samples, one a second, as dockerd paces them:
//! `stream=true` sends each (each carries the previous one's CPU counters as
//! `precpu_stats`); `stream=false` waits for a second sample so that the CPU share can be
//! computed, unless `one-shot=true`; a container that is not running answers a zeroed
//! sample at once. The stream ends when the client goes or the container is removed.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Response;
use muelle_types::container::{CpuStats, StatsResponse, ZERO_READ};

use super::Eng;
use crate::blocking::blocking;
use crate::error::ApiResult;
use crate::request::Params;
use crate::stream::{respond, Kind, Sink};

/// dockerd's collection interval.
const INTERVAL: Duration = Duration::from_secs(1);

pub async fn stats(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let stream = match params.get("stream") {
        None => true,
        Some(_) => params.bool("stream")?,
    };
    let one_shot = params.bool("one-shot")?;
    let (sink, rx) = Sink::new();
    tokio::spawn(async move {
        let mut prev: Option<(String, CpuStats)> = None;
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut first = true;
        loop {
            ticks.tick().await;
            let id2 = id.clone();
            let sample = blocking(&engine, move |e| Ok(e.container_stats(&id2)?)).await;
            let mut s: StatsResponse = match sample {
                Ok(s) => s,
                // Before the first sample: the status (404); later: the container went.
                Err(e) => {
                    if first {
                        sink.fail(e);
                    }
                    return;
                }
            };
            let running = s.read != ZERO_READ;
            if !stream && !running {
                sink.json(&s);
                return;
            }
            if let Some((read, cpu)) = prev.take() {
                s.preread = read;
                s.precpu_stats = cpu;
            }
            prev = Some((s.read.clone(), s.cpu_stats.clone()));
            // Without a stream, the first sample only primes the CPU counters.
            let prime = !stream && first && !one_shot;
            first = false;
            if prime {
                continue;
            }
            if !sink.json(&s) || !stream {
                return;
            }
        }
    });
    Ok(respond(rx, Kind::Json, "application/json").await)
}
