//! Replay of a captured request through a running gateway, shared by `codexia requests replay`
//! and the tray's Requests page: the captured client request (its body and the headers that
//! are not secrets) is sent to the same route again with this machine's key; the gateway
//! captures the replay too and names it in the `x-codexia-request` response header, and the
//! two backend requests are compared field by field (`inspector::diff`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::{LocalError, LocalGateway};
use crate::inspector::diff::{self, Change};
use crate::inspector::view::{HttpMessage, RequestDetail};

/// Reading a capture is local and quick.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A replayed request may stream for as long as the original did.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(600);
/// The response header naming the capture of a request (gateway/middleware/capture.rs).
const CAPTURE_HEADER: &str = "x-codexia-request";
/// Headers not sent again: connection handling, lengths, and anything redacted.
const NOT_REPLAYED: [&str; 9] = [
    "content-type",
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "accept-encoding",
    "authorization",
    "x-api-key",
    "cookie",
];

/// Why a replay gave nothing to compare.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReplayError {
    /// The captured client request was cut to fit the inspector's budget (or had no JSON body).
    #[error("{id} cannot be replayed: its body was not kept whole")]
    NotWhole { id: String },
    #[error("cannot send the request again: {0}")]
    Send(#[source] LocalError),
    /// The gateway answered but kept no capture of the replay (capture is off).
    #[error("the gateway answered {status} but did not capture the replay")]
    NotCaptured { status: reqwest::StatusCode },
    /// The replay's capture could not be read.
    #[error("cannot read the capture {id}: {err}")]
    Fetch {
        id: String,
        #[source]
        err: LocalError,
    },
}

/// One replay: the new capture, the gateway's answer and the comparison of the backend requests.
#[derive(Debug)]
pub(crate) struct Replayed {
    /// The replay's capture id.
    pub(crate) id: String,
    pub(crate) status: reqwest::StatusCode,
    /// The gateway's answer to the replay, as text.
    pub(crate) answer: String,
    /// The changed fields (empty: identical); `Err` says why there is nothing to compare.
    pub(crate) comparison: Result<Vec<Change>, String>,
}

/// `GET /v1/requests/{id}`.
pub(crate) async fn fetch(gateway: &LocalGateway, id: &str) -> Result<RequestDetail, LocalError> {
    gateway
        .get_json(&format!("/v1/requests/{id}"), READ_TIMEOUT)
        .await
}

/// Sends `original`'s client request through `gateway` again and compares the backend
/// requests.
pub(crate) async fn replay(
    gateway: &LocalGateway,
    original: &RequestDetail,
) -> Result<Replayed, ReplayError> {
    let request = &original.client_request;
    if request.truncated || !request.body.is_object() {
        return Err(ReplayError::NotWhole {
            id: original.summary.id.clone(),
        });
    }
    let path = request.url.clone().unwrap_or_default();
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(name, value)| {
            !NOT_REPLAYED.contains(&name.to_ascii_lowercase().as_str())
                && !value.contains("[redacted")
        })
        .cloned()
        .collect();
    let (status, answer_headers, answer) = gateway
        .post_json(&path, &headers, &request.body, REPLAY_TIMEOUT)
        .await
        .map_err(ReplayError::Send)?;
    let id = answer_headers
        .get(CAPTURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or(ReplayError::NotCaptured { status })?;
    let replayed = fetch(gateway, &id)
        .await
        .map_err(|err| ReplayError::Fetch {
            id: id.clone(),
            err,
        })?;
    Ok(Replayed {
        comparison: compare(original, &replayed),
        id,
        status,
        answer,
    })
}

/// The changed fields of the backend request from `original` to `replayed`: the body's paths
/// as they are (`model`), the URL as `url`, headers as `headers.NAME`. `Err` says why there is
/// nothing to compare.
pub(crate) fn compare(
    original: &RequestDetail,
    replayed: &RequestDetail,
) -> Result<Vec<Change>, String> {
    let (Some(before), Some(after)) = (&original.upstream_request, &replayed.upstream_request)
    else {
        return Err(
            match (&original.upstream_request, &replayed.summary.error) {
                (None, _) => format!(
                    "{} never reached the backend: there is no backend request to compare",
                    original.summary.id
                ),
                (Some(_), Some(error)) => format!(
                    "the replay did not reach the backend: {}: {}",
                    error.kind, error.message
                ),
                (Some(_), None) => "the replay did not reach the backend".to_owned(),
            },
        );
    };
    if before.truncated || after.truncated {
        return Err(
            "a backend request was cut to fit inspector_memory_mb: raise it to compare".to_owned(),
        );
    }
    let mut changes = diff::json_diff(&before.body, &after.body);
    if before.url != after.url {
        changes.push(Change {
            path: "url".to_owned(),
            before: before.url.clone().map(Value::String),
            after: after.url.clone().map(Value::String),
        });
    }
    let headers = |m: &HttpMessage| {
        let mut map = BTreeMap::<String, String>::new();
        for (name, value) in &m.headers {
            map.entry(name.to_ascii_lowercase())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(value);
                })
                .or_insert_with(|| value.clone());
        }
        serde_json::to_value(map).unwrap_or_default()
    };
    changes.extend(
        diff::json_diff(&headers(before), &headers(after))
            .into_iter()
            .map(|mut c| {
                c.path = format!("headers.{}", c.path.trim_start_matches('.'));
                c
            }),
    );
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::inspector::view::RequestSummary;

    fn detail(body: Value, headers: &[(&str, &str)]) -> RequestDetail {
        RequestDetail {
            summary: RequestSummary {
                id: "req_1".into(),
                ..RequestSummary::default()
            },
            upstream_request: Some(HttpMessage {
                url: Some("http://b/codex/responses".into()),
                headers: headers
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect(),
                body,
                ..HttpMessage::default()
            }),
            ..RequestDetail::default()
        }
    }

    #[test]
    fn the_comparison_names_changed_body_fields_and_headers() {
        let a = detail(json!({"model": "gpt-5.1"}), &[("session_id", "s1")]);
        assert_eq!(compare(&a, &a.clone()), Ok(vec![]));
        let b = detail(json!({"model": "gpt-5.2"}), &[("session_id", "s2")]);
        let lines: Vec<String> = compare(&a, &b)
            .unwrap()
            .iter()
            .map(|c| diff::describe(c, 40))
            .collect();
        assert_eq!(
            lines,
            [
                r#"model: "gpt-5.1" → "gpt-5.2""#,
                r#"headers.session_id: "s1" → "s2""#
            ]
        );
    }

    #[test]
    fn a_request_that_never_reached_the_backend_has_nothing_to_compare() {
        let a = RequestDetail::default();
        let b = detail(json!({}), &[]);
        assert!(
            compare(&a, &b)
                .unwrap_err()
                .contains("never reached the backend")
        );
    }
}
