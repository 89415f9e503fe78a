//! The JSON messages that image operations stream, one a line (moby's
//! `jsonmessage.JSONMessage`): a status with an optional layer `id` and byte counts, a line
//! of text (`stream`), an error that ends the stream, or out-of-band data (`aux`).
//! Fields a message does not carry are left out, in the order moby declares them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JsonMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(
        rename = "progressDetail",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub progress_detail: Option<ProgressDetail>,
    /// The rendered bar (`[==>   ] 1.2MB/3.4MB`), for clients that print it as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(
        rename = "errorDetail",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub error_detail: Option<ErrorDetail>,
    /// The error's message again, for clients that read only this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux: Option<Aux>,
}

impl JsonMessage {
    /// `{"status": …}`.
    pub fn status(status: impl Into<String>) -> Self {
        JsonMessage {
            status: Some(status.into()),
            ..Default::default()
        }
    }

    /// `{"status": …, "progressDetail": {}, "id": …}`: a step of one layer.
    pub fn layer_status(status: impl Into<String>, id: impl Into<String>) -> Self {
        JsonMessage {
            status: Some(status.into()),
            progress_detail: Some(ProgressDetail::default()),
            id: Some(id.into()),
            ..Default::default()
        }
    }

    /// `{"stream": …}`: a line of text.
    pub fn stream(text: impl Into<String>) -> Self {
        JsonMessage {
            stream: Some(text.into()),
            ..Default::default()
        }
    }

    /// `{"errorDetail": {"message": …}, "error": …}`: the last message of a failed stream.
    pub fn error(message: impl Into<String>) -> Self {
        let message = message.into();
        JsonMessage {
            error_detail: Some(ErrorDetail {
                code: None,
                message: message.clone(),
            }),
            error: Some(message),
            ..Default::default()
        }
    }
}

/// Byte counts of a layer's transfer; `{}` for a step without counts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProgressDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A failed build step's exit code (dockerd's `jsonmessage.JSONError.Code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    pub message: String,
}

/// Out-of-band data of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Aux {
    /// What a push of one tag made (moby's `types.PushResult`).
    Push(PushResult),
    /// The image a build made (moby's `types.BuildResult`).
    Build(BuildResult),
}

/// `{"ID": "sha256:…"}`: the `aux` of a build's last step.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BuildResult {
    #[serde(rename = "ID")]
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PushResult {
    pub tag: String,
    pub digest: String,
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_in_moby_order() {
        let s = |m: &JsonMessage| serde_json::to_string(m).unwrap();
        assert_eq!(
            s(&JsonMessage::status("Pulling")),
            r#"{"status":"Pulling"}"#
        );
        assert_eq!(
            s(&JsonMessage::layer_status("Pull complete", "abc")),
            r#"{"status":"Pull complete","progressDetail":{},"id":"abc"}"#
        );
        assert_eq!(
            s(&JsonMessage::error("boom")),
            r#"{"errorDetail":{"message":"boom"},"error":"boom"}"#
        );
        let aux = JsonMessage {
            progress_detail: Some(ProgressDetail::default()),
            aux: Some(Aux::Push(PushResult {
                tag: "1".into(),
                digest: "sha256:x".into(),
                size: 3,
            })),
            ..Default::default()
        };
        assert_eq!(
            s(&aux),
            r#"{"progressDetail":{},"aux":{"Tag":"1","Digest":"sha256:x","Size":3}}"#
        );
        let built = JsonMessage {
            aux: Some(Aux::Build(BuildResult {
                id: "sha256:y".into(),
            })),
            ..Default::default()
        };
        assert_eq!(s(&built), r#"{"aux":{"ID":"sha256:y"}}"#);
        let back: JsonMessage = serde_json::from_str(r#"{"aux":{"ID":"sha256:y"}}"#).unwrap();
        assert_eq!(back, built);
        let failed = JsonMessage {
            error_detail: Some(ErrorDetail {
                code: Some(3),
                message: "m".into(),
            }),
            error: Some("m".into()),
            ..Default::default()
        };
        assert_eq!(
            s(&failed),
            r#"{"errorDetail":{"code":3,"message":"m"},"error":"m"}"#
        );
    }
}
