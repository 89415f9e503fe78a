//! `muelle images` / `muelle image ls`: docker's rows (one per repository and tag, digests
//! on request), columns and JSON keys.

use anyhow::Result;
use serde::Deserialize;

use crate::client::Query;
use crate::commands::filters::filters_json;
use crate::commands::stringid::short_id;
use crate::format;
use crate::json::Value;
use crate::reference::{familiar, split_tag};
use crate::units::{go_time_string, human_size, human_size_prec, since};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    all: bool,
    /// Show digests
    #[arg(long)]
    digests: bool,
    /// Filter output based on conditions provided
    #[arg(short, long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long, value_name = "string")]
    format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// [REPOSITORY[:TAG]]
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
}

const TABLE: &str = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
const TABLE_DIGESTS: &str =
    "table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
const HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("ID", "IMAGE ID"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
];

/// The API's image summary; every field defaults so older and newer daemons both parse.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Summary {
    pub id: String,
    pub repo_tags: Option<Vec<String>>,
    pub repo_digests: Option<Vec<String>>,
    pub created: i64,
    pub size: i64,
    pub shared_size: Option<i64>,
    pub virtual_size: Option<i64>,
    pub containers: Option<i64>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let mut filters = a.filter.clone();
    if let Some(r) = &a.reference {
        filters.push(format!("reference={r}"));
    }
    let query = Query::new().set_if(a.all, "all", "1");
    let query = match filters_json(&filters)? {
        Some(f) => query.set("filters", f),
        None => query,
    };
    let client = ctx.client().await?;
    let images: Vec<Summary> = client
        .get_json(&format!("/images/json{}", query.render()))
        .await?;

    let fmt = if a.quiet {
        "{{.ID}}".to_owned()
    } else {
        a.format.clone().unwrap_or_default()
    };
    let digests = a.digests || fmt.contains(".Digest");
    let rows = rows(&images, digests, !a.no_trunc);
    let default = if a.digests { TABLE_DIGESTS } else { TABLE };
    crate::out(&format::render(&fmt, default, HEADERS, &rows)?)
}

fn is_dangling(i: &Summary) -> bool {
    let tags = i.repo_tags.as_deref().unwrap_or_default();
    let digests = i.repo_digests.as_deref().unwrap_or_default();
    (tags.is_empty() || tags == ["<none>:<none>"])
        && (digests.is_empty() || digests == ["<none>@<none>"])
}

/// docker's `imageFormatTaggedAndDigest`: a row per (repository, tag), repeated per digest of
/// that repository when digests are shown; repositories known only by digest get `<none>` tags.
pub fn rows(images: &[Summary], show_digests: bool, trunc: bool) -> Vec<Value> {
    let mut out = Vec::new();
    for img in images {
        if is_dangling(img) {
            out.push(row(img, "<none>", "<none>", "<none>", trunc));
            continue;
        }
        // Repositories in first-seen order (docker iterates a Go map, so its order varies).
        let mut repos: RepoRefs = Vec::new();
        for t in img.repo_tags.as_deref().unwrap_or_default() {
            let (repo, tag) = split_tag(familiar(t));
            if let Some(tag) = tag {
                let i = slot(&mut repos, repo);
                repos[i].1.push(tag.to_owned());
            }
        }
        for d in img.repo_digests.as_deref().unwrap_or_default() {
            if let Some((repo, digest)) = familiar(d).split_once('@') {
                let i = slot(&mut repos, repo);
                repos[i].2.push(digest.to_owned());
            }
        }
        for (repo, tags, digests) in &repos {
            if tags.is_empty() {
                if show_digests {
                    for d in digests {
                        out.push(row(img, repo, "<none>", d, trunc));
                    }
                } else {
                    out.push(row(img, repo, "<none>", "", trunc));
                }
                continue;
            }
            for tag in tags {
                if !show_digests || digests.is_empty() {
                    out.push(row(img, repo, tag, "<none>", trunc));
                    continue;
                }
                for d in digests {
                    out.push(row(img, repo, tag, d, trunc));
                }
            }
        }
    }
    out
}

type RepoRefs = Vec<(String, Vec<String>, Vec<String>)>;

/// The index of `repo` in `repos`, added at the end when new.
fn slot(repos: &mut RepoRefs, repo: &str) -> usize {
    match repos.iter().position(|r| r.0 == repo) {
        Some(i) => i,
        None => {
            repos.push((repo.to_owned(), Vec::new(), Vec::new()));
            repos.len() - 1
        }
    }
}

fn na_or(v: Option<i64>, f: impl Fn(i64) -> String) -> String {
    match v {
        None | Some(-1) => "N/A".to_owned(),
        Some(n) => f(n),
    }
}

/// Keys in alphabetical order: that is how docker's `{{json .}}` prints this row.
fn row(img: &Summary, repo: &str, tag: &str, digest: &str, trunc: bool) -> Value {
    let id = if trunc {
        short_id(&img.id).to_owned()
    } else {
        img.id.clone()
    };
    Value::object([
        (
            "Containers",
            na_or(img.containers, |n| n.to_string()).into(),
        ),
        ("CreatedAt", go_time_string(img.created).into()),
        ("CreatedSince", since(img.created).into()),
        ("Digest", digest.into()),
        ("ID", id.into()),
        ("Repository", repo.into()),
        (
            "SharedSize",
            na_or(img.shared_size, |n| human_size(n as f64)).into(),
        ),
        ("Size", human_size_prec(img.size as f64, 3).into()),
        ("Tag", tag.into()),
        (
            "UniqueSize",
            na_or(img.shared_size, |n| human_size((img.size - n) as f64)).into(),
        ),
        (
            "VirtualSize",
            human_size(img.virtual_size.unwrap_or(img.size) as f64).into(),
        ),
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn img(tags: &[&str], digests: &[&str]) -> Summary {
        Summary {
            id: "sha256:5e72c6dd051ffba444c3349c14476c4b934590247e23e3454cf50d793f7a6b0a".into(),
            repo_tags: Some(tags.iter().map(|s| s.to_string()).collect()),
            repo_digests: Some(digests.iter().map(|s| s.to_string()).collect()),
            created: 0,
            size: 1_985_650,
            shared_size: Some(-1),
            virtual_size: None,
            containers: Some(-1),
        }
    }

    fn cells(rows: &[Value], key: &str) -> Vec<String> {
        rows.iter()
            .map(|r| r.get(key).and_then(Value::as_str).unwrap_or("").to_owned())
            .collect()
    }

    #[test]
    fn row_expansion_like_docker() {
        let i = img(
            &["docker.io/library/busybox:latest", "busybox:1", "foo:x"],
            &["busybox@sha256:aaa", "busybox@sha256:bbb", "bar@sha256:ccc"],
        );
        let r = rows(std::slice::from_ref(&i), false, true);
        assert_eq!(
            cells(&r, "Repository"),
            ["busybox", "busybox", "foo", "bar"]
        );
        assert_eq!(cells(&r, "Tag"), ["latest", "1", "x", "<none>"]);
        assert_eq!(cells(&r, "Digest"), ["<none>", "<none>", "<none>", ""]);
        let r = rows(std::slice::from_ref(&i), true, false);
        assert_eq!(
            cells(&r, "Tag"),
            ["latest", "latest", "1", "1", "x", "<none>"]
        );
        assert_eq!(cells(&r, "Digest")[..2], ["sha256:aaa", "sha256:bbb"]);
        assert!(cells(&r, "ID")[0].starts_with("sha256:"));

        let dangling = rows(&[img(&[], &[])], false, true);
        assert_eq!(cells(&dangling, "Repository"), ["<none>"]);
        assert_eq!(cells(&dangling, "ID"), ["5e72c6dd051f"]);
        assert_eq!(cells(&dangling, "Size"), ["1.99MB"]);
        assert_eq!(cells(&dangling, "VirtualSize"), ["1.986MB"]);
        assert_eq!(cells(&dangling, "Containers"), ["N/A"]);
        assert_eq!(
            cells(&dangling, "CreatedAt"),
            ["1970-01-01 00:00:00 +0000 UTC"]
        );
    }
}
