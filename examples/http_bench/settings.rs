//! The generator's command line: what to send, how hard, for how long.
//!
//! Bad input is refused with a message naming the flag, never guessed
//! around: a benchmark run with a silently ignored flag measures something
//! else than its reader thinks.

/// Command-line settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server, `host:port`.
    pub addr: String,
    /// Concurrent keep-alive connections.
    pub conns: usize,
    /// Measured seconds.
    pub secs: f64,
    /// Seconds of load before measuring.
    pub warmup: f64,
    /// Requests sent in one write before reading their responses.
    pub pipeline: usize,
    /// `GET` or `POST`.
    pub method: String,
    /// The request target.
    pub path: String,
    /// Bytes of each POST body.
    pub body_size: usize,
    /// The body every GET response must have.
    pub expect_body: Vec<u8>,
}

pub const USAGE: &str = "usage: http_bench [--addr 127.0.0.1:8080] [--conns 64] [--secs 5] \
[--warmup 1] [--pipeline 1] [--method GET|POST] [--path /] [--body-size 1024] \
[--expect-body 'Hello, world!']";

/// Reads the flags (without the program name); an `Err` says what is wrong.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Settings, String> {
    let mut settings = Settings {
        addr: "127.0.0.1:8080".into(),
        conns: 64,
        secs: 5.0,
        warmup: 1.0,
        pipeline: 1,
        method: "GET".into(),
        path: String::new(),
        body_size: 1024,
        expect_body: b"Hello, world!".to_vec(),
    };
    let (mut body_size_set, mut expect_set) = (false, false);
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => settings.addr = value,
            "--conns" => settings.conns = number(&flag, &value, 1)?,
            "--pipeline" => settings.pipeline = number(&flag, &value, 1)?,
            "--body-size" => {
                (settings.body_size, body_size_set) = (number(&flag, &value, 0)?, true)
            }
            "--secs" => settings.secs = seconds(&flag, &value, 0.001)?,
            "--warmup" => settings.warmup = seconds(&flag, &value, 0.0)?,
            "--method" => settings.method = value.to_ascii_uppercase(),
            "--path" => settings.path = value,
            "--expect-body" => (settings.expect_body, expect_set) = (value.into_bytes(), true),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    match settings.method.as_str() {
        "GET" if body_size_set => return Err("--body-size goes with --method POST".into()),
        "GET" => {}
        "POST" if expect_set => {
            return Err("POST expects its own body back: no --expect-body".into());
        }
        "POST" => {}
        other => return Err(format!("--method is GET or POST, not {other:?}")),
    }
    if settings.path.is_empty() {
        settings.path = if settings.method == "GET" {
            "/"
        } else {
            "/echo"
        }
        .into();
    }
    if !settings.path.starts_with('/') || settings.path.bytes().any(|b| b <= b' ') {
        return Err(format!(
            "bad --path {:?}: /something, no spaces",
            settings.path
        ));
    }
    Ok(settings)
}

fn number(flag: &str, value: &str, min: usize) -> Result<usize, String> {
    match value.parse() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("bad {flag} {value:?}: a whole number >= {min}")),
    }
}

fn seconds(flag: &str, value: &str, min: f64) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(s) if s >= min && s.is_finite() => Ok(s),
        _ => Err(format!("bad {flag} {value:?}: seconds >= {min}")),
    }
}
