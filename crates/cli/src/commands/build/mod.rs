//! `muelle build`: a context (a directory, or `-` for a tar or a Dockerfile on stdin) sent
//! to `POST /build`, the legacy builder's message stream shown as BuildKit's progress, the
//! image ID kept (`-q`, `--iidfile`) and exported (`--output`). The flags are docker's.
//!
//! One concept a module: [`options`] the flags' values, [`context`] the request body,
//! [`stages`] the Dockerfile's shape for the step labels, [`display`] the progress lines,
//! [`terminal`] where they go, [`output`] `--output`.

pub mod context;
pub mod display;
pub mod options;
pub mod output;
pub mod stages;
pub mod terminal;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{anyhow, bail, Context as _, Result};
use hyper::Method;

use crate::client::{JsonStream, Query};
use crate::progress::Message;
use crate::Ctx;
use display::{Display, End};
use options::Progress;
use terminal::Screen;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short = 't', long = "tag", value_name = "list")]
    pub tags: Vec<String>,
    /// Name of the Dockerfile (default: "PATH/Dockerfile"; "-" reads it from STDIN)
    #[arg(short = 'f', long = "file", value_name = "string")]
    pub file: Option<String>,
    /// Set build-time variables (KEY alone takes its value from the environment)
    #[arg(long = "build-arg", value_name = "list")]
    pub build_args: Vec<String>,
    /// Set metadata for an image
    #[arg(long = "label", value_name = "list")]
    pub labels: Vec<String>,
    /// Set the target build stage to build
    #[arg(long, value_name = "string")]
    pub target: Option<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pub pull: bool,
    /// Images to consider as cache sources
    #[arg(long = "cache-from", value_name = "strings")]
    pub cache_from: Vec<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the image ID to the file
    #[arg(long, value_name = "string")]
    pub iidfile: Option<PathBuf>,
    /// Set the networking mode for the RUN instructions during build
    #[arg(long, value_name = "string")]
    pub network: Option<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "list")]
    pub add_hosts: Vec<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string", env = "DOCKER_DEFAULT_PLATFORM")]
    pub platform: Option<String>,
    /// Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")
    #[arg(long, value_name = "stringArray")]
    pub secret: Vec<String>,
    /// Set type of progress output ("auto", "plain", "tty", "quiet")
    #[arg(
        long,
        value_name = "string",
        default_value = "auto",
        env = "BUILDKIT_PROGRESS"
    )]
    pub progress: String,
    /// Remove intermediate containers after a successful build
    #[arg(long, value_name = "bool", default_value = "true", action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub rm: bool,
    /// Always remove intermediate containers
    #[arg(long)]
    pub force_rm: bool,
    /// Output destination (format: "type=local,dest=path"; types docker, oci, local, tar)
    #[arg(short = 'o', long, value_name = "stringArray")]
    pub output: Option<String>,
    #[arg(value_name = "PATH | -")]
    pub path: String,
}

/// The query of `POST /build` for these flags (the context's part aside).
pub fn query(a: &Args, env: impl Fn(&str) -> Option<String> + Copy) -> Result<Query> {
    let mut q = Query::new();
    for t in &a.tags {
        q = q.set("t", t.as_str());
    }
    let quiet = a.quiet || options::progress(&a.progress)? == Progress::Quiet;
    q = q
        .set_if(quiet, "q", "1")
        .set_if(a.no_cache, "nocache", "1")
        .set("rm", if a.rm { "1" } else { "0" })
        .set_if(a.force_rm, "forcerm", "1")
        .set_if(a.pull, "pull", "1");
    if let Some(t) = a.target.as_deref().filter(|t| !t.is_empty()) {
        q = q.set("target", t);
    }
    if let Some(n) = a.network.as_deref().filter(|n| !n.is_empty()) {
        q = q.set("networkmode", n);
    }
    if let Some(p) = a.platform.as_deref().filter(|p| !p.is_empty()) {
        q = q.set("platform", p.to_lowercase());
    }
    for h in &a.add_hosts {
        q = q.set("extrahosts", options::extra_host(h)?);
    }
    let build_args = options::build_args(&a.build_args, env);
    if !build_args.is_empty() {
        q = q.set("buildargs", serde_json::to_string(&build_args)?);
    }
    let labels = options::labels(&a.labels);
    if !labels.is_empty() {
        q = q.set("labels", serde_json::to_string(&labels)?);
    }
    if !a.cache_from.is_empty() {
        q = q.set("cachefrom", serde_json::to_string(&a.cache_from)?);
    }
    if let Some(s) = options::secrets_param(&a.secret, env)? {
        q = q.set("secrets", s);
    }
    Ok(q)
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let env = |k: &str| std::env::var(k).ok();
    let mut q = query(&a, env)?;
    let progress = options::progress(&a.progress)?;
    let quiet = a.quiet || progress == Progress::Quiet;
    let output = a.output.as_deref().map(options::output).transpose()?;
    if let Some(f) = &a.iidfile {
        match std::fs::remove_file(f) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing the old iidfile {}", f.display()))
            }
            _ => {}
        }
    }
    let prepared = context::prepare(&a.path, a.file.as_deref()).await?;
    if !prepared.dockerfile_param.is_empty() {
        q = q.set("dockerfile", prepared.dockerfile_param.as_str());
    }
    let mut screen = if quiet {
        Screen::quiet()
    } else if progress == Progress::Tty
        || (progress == Progress::Auto && std::io::stderr().is_terminal())
    {
        Screen::tty()
    } else {
        Screen::plain()
    };
    let stages = prepared
        .dockerfile_text
        .as_deref()
        .map(stages::scan)
        .unwrap_or_default();
    let mut display = Display::new(stages);
    let start = Instant::now();
    let shown_name = a.file.clone().unwrap_or_else(|| "Dockerfile".into());
    screen.print(display.begin(
        &shown_name,
        prepared.dockerfile_text.as_ref().map(String::len),
        start.elapsed(),
    ));
    let dockerfile_text = prepared.dockerfile_text.clone();
    let client = ctx.client().await?;
    let res = client
        .request(
            Method::POST,
            &format!("/build{}", q.render()),
            &[("content-type", "application/x-tar".to_owned())],
            prepared.body,
        )
        .await;
    let res = match res {
        Ok(r) => r,
        Err(e) => {
            screen.failed();
            return Err(with_location(e, &shown_name, dockerfile_text.as_deref()));
        }
    };
    screen.print(display.context_sent(prepared.sent.load(Ordering::Relaxed), start.elapsed()));
    let mut stream = JsonStream::new(res);
    let mut quiet_id = None;
    let end = loop {
        let m = match stream.next::<Message>().await {
            Ok(Some(m)) => m,
            Ok(None) => {
                let (lines, end) = display.finish(start.elapsed());
                screen.print(lines);
                break end;
            }
            Err(e) => {
                screen.failed();
                return Err(e);
            }
        };
        if let Some(id) = m
            .stream
            .as_deref()
            .map(str::trim)
            .filter(|s| quiet && s.starts_with("sha256:"))
        {
            quiet_id = Some(id.to_string());
            continue;
        }
        let (lines, end) = display.message(&m, start.elapsed());
        screen.print(lines);
        if let Some(end) = end {
            break end;
        }
        screen.status(
            display.active().zip(
                display
                    .active_since()
                    .map(|s| start.elapsed().saturating_sub(s)),
            ),
        );
    };
    let id = match end {
        End::Failed { message } => {
            screen.failed();
            bail!("build failed: {message}");
        }
        End::Built { id } => {
            screen.done();
            id.or(quiet_id)
                .ok_or_else(|| anyhow!("the daemon's answer named no image"))?
        }
    };
    if quiet {
        crate::out(&format!("{id}\n"))?;
    }
    if let Some(f) = &a.iidfile {
        std::fs::write(f, &id).with_context(|| format!("writing the iidfile {}", f.display()))?;
    }
    if let Some(o) = &output {
        output::write(&client, &id, o).await?;
    }
    Ok(())
}

/// A Dockerfile the daemon refused to parse: its answer is in dockerd's words (a line, no
/// column), so the file, line and column are added from our own parser's reading of it.
fn with_location(e: anyhow::Error, name: &str, text: Option<&str>) -> anyhow::Error {
    let said = e.to_string();
    if !(said.contains("dockerfile parse error") || said.contains("failed to parse Dockerfile")) {
        return e;
    }
    match text.map(|t| muelle_build::dockerfile::parse(name, t)) {
        Some(Err(p)) if p.pos.line > 0 => {
            anyhow!("{said} (at {name}:{}:{})", p.pos.line, p.pos.column)
        }
        _ => e,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_dockerfile_is_located() {
        let e = anyhow!(
            "Error response from daemon: dockerfile parse error line 3: unknown instruction: FROBNICATE"
        );
        let got = with_location(
            e,
            "Dockerfile",
            Some("FROM busybox\nRUN true\nFROBNICATE x\n"),
        );
        assert!(got.to_string().ends_with("(at Dockerfile:3:1)"), "{got}");
        let other = with_location(anyhow!("no such image"), "Dockerfile", Some("FOO"));
        assert_eq!(other.to_string(), "no such image");
    }
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: Args,
    }

    fn args(v: &[&str]) -> Args {
        let mut all = vec!["build"];
        all.extend_from_slice(v);
        T::try_parse_from(all).unwrap().a
    }

    fn env(k: &str) -> Option<String> {
        (k == "HOME_ARG").then(|| "h".to_string())
    }

    #[test]
    fn query_as_the_docker_cli_sends_it() {
        let a = args(&[
            "-t",
            "a:1",
            "-t",
            "b",
            "--build-arg",
            "X=1",
            "--build-arg",
            "HOME_ARG",
            "--label",
            "l=v",
            "--target",
            "t",
            "--no-cache",
            "--pull",
            "--cache-from",
            "c:1",
            "--network",
            "host",
            "--add-host",
            "h:1.2.3.4",
            "--platform",
            "Linux/AMD64",
            "--rm=false",
            "--force-rm",
            ".",
        ]);
        assert_eq!(
            query(&a, env).unwrap().render(),
            "?t=a%3A1&t=b&nocache=1&rm=0&forcerm=1&pull=1&target=t&networkmode=host\
             &platform=linux%2Famd64&extrahosts=h%3A1.2.3.4\
             &buildargs=%7B%22HOME_ARG%22%3A%22h%22%2C%22X%22%3A%221%22%7D\
             &labels=%7B%22l%22%3A%22v%22%7D&cachefrom=%5B%22c%3A1%22%5D"
        );
        let a = args(&["-q", "-"]);
        assert_eq!(query(&a, env).unwrap().render(), "?q=1&rm=1");
        assert!(args(&["--rm", "."]).rm);
        let a = args(&["--progress", "bogus", "."]);
        assert!(query(&a, env).is_err());
        let a = args(&["--add-host", "nope", "."]);
        assert!(query(&a, env).is_err());
    }
}
