//! The LLM report writer: the paper's kind of prompt sent to any OpenAI-compatible chat-completions
//! endpoint (`POST {url}/chat/completions`), asking for a JSON answer `{"report": "..."}`, with
//! timeouts and retries (network errors, HTTP 429/5xx and unusable answers are retried with
//! exponential back-off; other HTTP errors stop the run at once, since retrying cannot fix them).

use std::time::Duration;

use serde_json::{json, Value};

use crate::data::Record;

/// The instruction given to the model (the paper's: only the given information, no suggestion of
/// further evaluation; 2–3 sentences; JSON output).
pub const SYSTEM_PROMPT: &str =
    "You are a clinician who writes short clinical reports about body-sound \
recordings (coughs, breathing, lung and heart auscultation) for a research database.";

/// The user message for one record.
pub fn user_prompt(dataset: &str, record: &Record, meta_line: &str) -> String {
    format!(
        "Information about a {modality} recording from the {dataset} dataset: {meta_line}.\n\
         Write a clinical report of 2 to 3 sentences about this recording and the person recorded. \
         Use only the information given: do not add facts, do not speculate, and do not suggest any \
         further evaluation, tests, treatment or follow-up. Answer with JSON only, in the form \
         {{\"report\": \"<the report>\"}}.",
        modality = record.modality.replace(['-', '_'], " "),
    )
}

/// Settings of the endpoint.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// Base URL, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`.
    pub url: String,
    pub model: String,
    /// Bearer token (from an environment variable), if the endpoint needs one.
    pub api_key: Option<String>,
    pub temperature: f32,
    pub timeout: Duration,
    /// Attempts after the first one.
    pub retries: u32,
    /// First back-off delay; doubled after every failed attempt (capped at 16×).
    pub backoff: Duration,
}

/// Why a report could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// Retrying cannot help (bad URL, key or model): the whole run stops.
    #[error(
        "the LLM endpoint refused the request ({0}); check --llm-url, --llm-model and the API key"
    )]
    Fatal(String),
    /// Every attempt failed for this record.
    #[error("no usable answer after {attempts} attempts (last: {last})")]
    GaveUp { attempts: u32, last: String },
}

/// A blocking client for one endpoint.
pub struct LlmWriter {
    cfg: LlmConfig,
    agent: ureq::Agent,
}

enum Attempt {
    Retry(String),
    Fatal(String),
}

impl LlmWriter {
    pub fn new(cfg: LlmConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Self { cfg, agent }
    }

    /// A short id for the CSV's `writer` column.
    pub fn id(&self) -> String {
        format!("llm:{}", self.cfg.model)
    }

    /// Asks for one report; `seed` is passed on (endpoints that support it become reproducible).
    pub fn write(&self, user: &str, seed: u64) -> Result<String, LlmError> {
        let endpoint = format!("{}/chat/completions", self.cfg.url.trim_end_matches('/'));
        let body = json!({
            "model": self.cfg.model,
            "temperature": self.cfg.temperature,
            "seed": seed,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user},
            ],
        });
        let mut last = String::new();
        let mut delay = self.cfg.backoff;
        for attempt in 0..=self.cfg.retries {
            if attempt > 0 {
                std::thread::sleep(delay);
                delay = (delay * 2).min(self.cfg.backoff * 16);
            }
            match self.attempt(&endpoint, &body) {
                Ok(report) => return Ok(report),
                Err(Attempt::Fatal(m)) => return Err(LlmError::Fatal(m)),
                Err(Attempt::Retry(m)) => {
                    tracing::debug!("attempt {}: {m}", attempt + 1);
                    last = m;
                }
            }
        }
        Err(LlmError::GaveUp {
            attempts: self.cfg.retries + 1,
            last,
        })
    }

    fn attempt(&self, endpoint: &str, body: &Value) -> Result<String, Attempt> {
        let mut req = self.agent.post(endpoint);
        if let Some(key) = &self.cfg.api_key {
            req = req.header("Authorization", &format!("Bearer {key}"));
        }
        let mut resp = req
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(|e| Attempt::Retry(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(4 << 20)
            .read_to_string()
            .map_err(|e| Attempt::Retry(format!("reading the answer: {e}")))?;
        match status {
            200..=299 => parse_answer(&text).map_err(|e| Attempt::Retry(e.to_string())),
            429 | 500..=599 | 408 => Err(Attempt::Retry(format!("HTTP {status}"))),
            _ => Err(Attempt::Fatal(format!(
                "HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            ))),
        }
    }
}

/// Why a chat-completions answer holds no usable report.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("answer is not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("answer has no choices[0].message.content")]
    NoContent,
    /// The message content (its first 80 characters) is not JSON.
    #[error("the model did not answer with JSON: {0}")]
    ContentNotJson(String),
    #[error("the JSON answer has no \"report\" string")]
    NoReport,
    #[error("unusable report length ({0} characters)")]
    Length(usize),
}

/// The report inside a chat-completions answer whose message content is `{"report": "..."}` (a
/// Markdown code fence around the JSON is tolerated).
pub fn parse_answer(body: &str) -> Result<String, AnswerError> {
    let v: Value = serde_json::from_str(body).map_err(AnswerError::NotJson)?;
    let content = v
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .ok_or(AnswerError::NoContent)?;
    let inner = content
        .trim()
        .trim_start_matches("```json")
        .trim_start_matches("```")
        .trim_end_matches("```")
        .trim();
    let obj: Value = serde_json::from_str(inner)
        .map_err(|_| AnswerError::ContentNotJson(format!("{content:.80}")))?;
    let report = obj
        .get("report")
        .and_then(Value::as_str)
        .ok_or(AnswerError::NoReport)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if report.is_empty() || report.len() > 2000 {
        return Err(AnswerError::Length(report.len()));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    //! No OpenAI-compatible server can run on this machine, so these tests talk to a mock: a tiny
    //! HTTP server on 127.0.0.1 that plays back scripted answers. The client code under test is the
    //! real one (real sockets, real HTTP, real JSON).
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// Serves `script` (status, body, delay) one response per connection; records request bodies.
    fn serve(script: Vec<(u16, String, u64)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (status, body, delay) in script {
                let Ok((mut s, _)) = listener.accept() else {
                    return;
                };
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut buf = vec![0; len];
                r.read_exact(&mut buf).unwrap();
                log.lock().unwrap().push(String::from_utf8(buf).unwrap());
                std::thread::sleep(Duration::from_millis(delay));
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, seen)
    }

    fn answer(content: &str) -> String {
        json!({"choices": [{"message": {"role": "assistant", "content": content}}]}).to_string()
    }

    fn writer(url: String, retries: u32, timeout_ms: u64) -> LlmWriter {
        LlmWriter::new(LlmConfig {
            url,
            model: "test-model".into(),
            api_key: Some("k".into()),
            temperature: 1.0,
            timeout: Duration::from_millis(timeout_ms),
            retries,
            backoff: Duration::from_millis(10),
        })
    }

    #[test]
    fn retries_server_errors_bad_json_and_timeouts_then_succeeds() {
        let (url, seen) = serve(vec![
            (503, "busy".into(), 0),
            (200, answer("Sure! The report is as follows."), 0),
            (200, answer("{\"report\": \"late\"}"), 1500),
            (
                200,
                answer("```json\n{\"report\": \"A cough from  a healthy adult.\"}\n```"),
                0,
            ),
        ]);
        let w = writer(url, 3, 1000);
        assert_eq!(
            w.write("hello", 5).unwrap(),
            "A cough from a healthy adult."
        );
        let bodies = seen.lock().unwrap();
        assert_eq!(bodies.len(), 4);
        let req: Value = serde_json::from_str(&bodies[0]).unwrap();
        assert_eq!(req["model"], "test-model");
        assert_eq!(req["messages"][1]["content"], "hello");
        assert_eq!(req["response_format"]["type"], "json_object");
    }

    #[test]
    fn a_refused_request_stops_at_once_and_retries_have_a_limit() {
        let (url, seen) = serve(vec![(401, "{\"error\":\"bad key\"}".into(), 0)]);
        let err = writer(url, 3, 1000).write("x", 0).unwrap_err();
        assert!(
            matches!(err, LlmError::Fatal(ref m) if m.contains("401")),
            "{err}"
        );
        assert_eq!(seen.lock().unwrap().len(), 1);

        let (url, _) = serve(vec![(500, "a".into(), 0), (500, "b".into(), 0)]);
        let err = writer(url, 1, 1000).write("x", 0).unwrap_err();
        assert!(matches!(err, LlmError::GaveUp { attempts: 2, .. }), "{err}");
    }

    #[test]
    fn answers_are_parsed_strictly() {
        assert!(parse_answer("not json").is_err());
        assert!(parse_answer(&answer("{\"text\": \"x\"}")).is_err());
        assert!(parse_answer(&answer("{\"report\": \"   \"}")).is_err());
        assert_eq!(
            parse_answer(&answer("{\"report\": \"Two  lines\\nhere.\"}")).unwrap(),
            "Two lines here."
        );
    }
}
