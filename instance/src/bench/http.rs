//! A small closed-loop HTTP/1.1 load generator: a fixed number of keep-alive connections, each
//! sending its next request as soon as the previous answer has been read in full.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

pub type Body = Full<Bytes>;

/// What a run saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// Answers by status class: 2xx, 3xx, 4xx, 5xx.
    pub classes: [u64; 4],
    /// Requests that got no answer (connection errors).
    pub failed: u64,
    /// Every answered request's latency, in microseconds.
    pub latencies_us: Vec<u32>,
    pub elapsed: Duration,
    /// The first 4xx or 5xx answer, to say what went wrong.
    pub first_error: Option<(StatusCode, String)>,
}

/// The index of a status's class in [`Tally::classes`].
fn class(status: StatusCode) -> usize {
    usize::from(status.as_u16() / 100).saturating_sub(2).min(3)
}

impl Tally {
    pub fn answered(&self) -> u64 {
        self.classes.iter().sum()
    }

    /// Answers of `expected`'s class.
    pub fn count(&self, expected: StatusCode) -> u64 {
        self.classes[class(expected)]
    }

    /// Answers of the expected class per second.
    pub fn rate(&self, expected: StatusCode) -> f64 {
        self.classes[class(expected)] as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Whether every request got an answer of `expected`'s class.
    pub fn all(&self, expected: StatusCode) -> bool {
        self.failed == 0 && self.classes[class(expected)] == self.answered()
    }

    /// The latency at quantile `q` (0..=1), in milliseconds.
    pub fn quantile_ms(&mut self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        self.latencies_us.sort_unstable();
        let last = self.latencies_us.len() - 1;
        let i = ((last as f64) * q).round() as usize;
        f64::from(self.latencies_us[i.min(last)]) / 1000.0
    }

    fn merge(&mut self, other: Tally) {
        for (a, b) in self.classes.iter_mut().zip(other.classes) {
            *a += b;
        }
        self.failed += other.failed;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies_us.extend(other.latencies_us);
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Body>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Makes the next request for connection `i`; `None` ends that connection's work.
pub type NextRequest = Arc<dyn Fn(usize) -> Option<Request<Body>> + Send + Sync>;

/// Runs `conns` connections against `addr` for at most `limit`, or until `next` runs out.
pub async fn drive(
    addr: SocketAddr,
    conns: usize,
    limit: Duration,
    next: NextRequest,
) -> anyhow::Result<Tally> {
    let start = Instant::now();
    let until = start + limit;
    let mut tasks = Vec::with_capacity(conns);
    for i in 0..conns {
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            let mut sender = connect(addr).await?;
            while Instant::now() < until {
                let Some(req) = next(i) else { break };
                let sent = Instant::now();
                let answer = async {
                    sender.ready().await?;
                    let res = sender.send_request(req).await?;
                    let status = res.status();
                    let body = res.into_body().collect().await?;
                    anyhow::Ok((status, body))
                }
                .await;
                match answer {
                    Ok((status, body)) => {
                        if status.as_u16() >= 400 && t.first_error.is_none() {
                            let text = String::from_utf8_lossy(&body.to_bytes()).into_owned();
                            t.first_error = Some((status, text.chars().take(300).collect()));
                        }
                        t.classes[class(status)] += 1;
                        t.latencies_us
                            .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                    Err(_) => {
                        t.failed += 1;
                        sender = connect(addr).await?;
                    }
                }
            }
            anyhow::Ok(t)
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        total.merge(task.await??);
    }
    total.elapsed = start.elapsed();
    Ok(total)
}

/// One GET, with an optional `Cookie`.
pub fn get(host: &str, path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path).header("host", host);
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Body::default()).unwrap_or_default()
}

/// One form POST with a `Cookie`.
pub fn post_form(host: &str, path: &str, cookie: &str, form: Bytes) -> Request<Body> {
    Request::post(path)
        .header("host", host)
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(form))
        .unwrap_or_default()
}

/// Asks `addr` for `path` until it answers 200 or `limit` passes; returns how long it took.
pub async fn wait_ok(addr: SocketAddr, path: &str, limit: Duration) -> anyhow::Result<Duration> {
    let start = Instant::now();
    loop {
        if let Ok(mut s) = connect(addr).await
            && let Ok(res) = s.send_request(get("localhost", path, None)).await
            && res.status() == StatusCode::OK
        {
            return Ok(start.elapsed());
        }
        if start.elapsed() > limit {
            anyhow::bail!("{addr} did not answer {path} within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
