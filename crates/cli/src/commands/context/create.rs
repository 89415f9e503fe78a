//! `muelle context create NAME [--docker host=…] [--description …] [--from CTX]`: a context in
//! the docker CLI's store. Without `--docker` or `--from` it copies the current context's
//! endpoint, as docker does. muelle speaks to unix sockets only, but stores any host docker
//! would, so the docker CLI can use what muelle made.

use anyhow::{bail, Result};

use super::{fail, Env};
use crate::contexts::{validate_name, DockerEndpoint, Meta, Metadata, DEFAULT};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Description of the context
    #[arg(long, value_name = "string")]
    description: Option<String>,
    /// set the docker endpoint
    #[arg(long, value_name = "stringToString")]
    docker: Vec<String>,
    /// create context from a named context
    #[arg(long, value_name = "string")]
    from: Option<String>,
    #[arg(value_name = "CONTEXT")]
    name: String,
}

/// `--docker host=…,skip-tls-verify=…` (pflag's stringToString: comma-separated pairs, the
/// flag repeatable).
fn parse_endpoint(specs: &[String]) -> Result<DockerEndpoint> {
    let mut ep = DockerEndpoint::default();
    for pair in specs
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|p| !p.is_empty())
    {
        let Some((k, v)) = pair.split_once('=') else {
            bail!("invalid argument {pair:?} for \"--docker\" flag: {pair} must be formatted as key=value");
        };
        match k {
            "host" => ep.host = v.to_owned(),
            "skip-tls-verify" => {
                ep.skip_tls_verify = match v {
                    "true" | "1" | "t" | "T" | "TRUE" | "True" => true,
                    "false" | "0" | "f" | "F" | "FALSE" | "False" => false,
                    _ => bail!("unable to create docker endpoint config: strconv.ParseBool: parsing {v:?}: invalid syntax"),
                }
            }
            "ca" | "cert" | "key" => bail!(
                "unable to create docker endpoint config: TLS material ({k}) is not supported: \
                 muelle talks to unix sockets only"
            ),
            _ => bail!("unable to create docker endpoint config: unrecognized config key: {k}"),
        }
    }
    Ok(ep)
}

pub fn run(env: &Env, a: Args) -> Result<()> {
    validate_name(&a.name).map_err(|e| fail(format!("{e:#}")))?;
    if env.store.exists(&a.name) {
        return Err(fail(format!("context {:?} already exists", a.name)));
    }
    let endpoint = if !a.docker.is_empty() {
        parse_endpoint(&a.docker).map_err(|e| fail(format!("{e:#}")))?
    } else {
        let from = a.from.clone().unwrap_or_else(|| env.current.clone());
        if from == DEFAULT {
            DockerEndpoint {
                host: env.default_host.clone(),
                skip_tls_verify: false,
            }
        } else {
            env.store
                .load(&from)
                .map_err(|e| fail(format!("{e:#}")))?
                .docker()
        }
    };
    let meta = Meta {
        name: a.name.clone(),
        metadata: Metadata {
            description: a.description.unwrap_or_default(),
            other: Default::default(),
        },
        endpoints: [("docker".to_owned(), serde_json::to_value(endpoint)?)]
            .into_iter()
            .collect(),
    };
    env.store.save(&meta).map_err(|e| fail(format!("{e:#}")))?;
    crate::out(&format!("{}\n", a.name))?;
    eprintln!("Successfully created context {:?}", a.name);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_as_docker_does() {
        let ep = parse_endpoint(&["host=unix:///a.sock,skip-tls-verify=true".into()]).unwrap();
        assert_eq!(ep.host, "unix:///a.sock");
        assert!(ep.skip_tls_verify);
        assert!(parse_endpoint(&["bogus=1".into()])
            .unwrap_err()
            .to_string()
            .ends_with("unrecognized config key: bogus"));
    }
}
