//! Starting the app and talking to it: plain HTTP/1.1 over std sockets, so the tests see exactly
//! what a client sees.

/// The harness's one way to start the app, under the name these tests use beside [`spawn_app`].
pub use mallsync_test_support::spawn_app as spawn_app_with;
use mallsync_test_support::{TestApp, TestOptions};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

pub const CARTS: [&str; 5] = ["bcart", "base", "shopserve", "cscart", "futureshop"];
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The app with its diagnostic routes on and a known admin token.
pub fn spawn_app() -> TestApp {
    spawn_app_with(test_options())
}

pub fn test_options() -> TestOptions {
    TestOptions::default()
        .variable("test_routes_enabled", "true")
        .variable("admin_token", ADMIN_TOKEN)
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

pub fn get(app: &TestApp, path: &str) -> Reply {
    send(app.addr(), "GET", path, &[], b"")
}

pub fn put(app: &TestApp, path: &str, body: &[u8]) -> Reply {
    send(app.addr(), "PUT", path, &[], body)
}

/// One request on a fresh connection (`Connection: close`), read to the end.
pub fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connecting to the app");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("setting a read timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .expect("writing the request");
    stream.write_all(body).expect("writing the body");
    read_response(stream)
}

fn read_response(stream: TcpStream) -> Reply {
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader
        .read_line(&mut status_line)
        .expect("reading the status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("reading a header");
        if line.trim().is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
    }
    let mut raw = Vec::new();
    reader.read_to_end(&mut raw).expect("reading the body");
    let body = if chunked { dechunk(&raw) } else { raw };
    Reply { status, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

/// A loopback HTTP server answering every request with 200 and `body`, counting requests.
pub struct FakeUpstream {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl FakeUpstream {
    pub fn start(body: &'static str) -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a fake upstream");
        let addr = listener.local_addr().expect("fake upstream address");
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = (&stream).write_all(response.as_bytes());
            }
        });
        FakeUpstream { addr, hits }
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
