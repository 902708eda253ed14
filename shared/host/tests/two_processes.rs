//! Two `mallsync-host up` processes on one runtime config (key-value on Redis, one SQLite file)
//! are one app: what one writes the other reads, and dispatch calls to both land in one run log.
//! The admin token comes from a dotenv file named in the runtime config, so it is on no command
//! line. (The sending side, nothing sent twice, is tests/e2e `service::shared_state`.)
//!
//! Needs `redis-server`; without it the test says so and passes, unless MALLSYNC_REQUIRE_REDIS is
//! set (CI sets it).

use mallsync_test_support::{build_once, workspace_manifest};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_mallsync-host");
const ADMIN_TOKEN: &str = "two-processes-admin-token-0123456789";

struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = match Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if std::env::var_os("MALLSYNC_REQUIRE_REDIS").is_none() => {
                eprintln!("SKIPPED: redis-server could not start ({e})");
                return None;
            }
            Err(e) => panic!("MALLSYNC_REQUIRE_REDIS is set but redis-server could not start: {e}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Redis { child, port })
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `mallsync-host up` and the address it serves.
struct Host {
    child: Child,
    addr: String,
}

impl Host {
    fn start(config: &Path, data_dir: &Path) -> Host {
        let mut child = Command::new(BIN)
            .args(["up", "--no-build", "--no-cron", "--listen", "127.0.0.1:0"])
            .arg("-f")
            .arg(workspace_manifest())
            .arg("--runtime-config-file")
            .arg(config)
            .arg("--data-dir")
            .arg(data_dir)
            .current_dir(data_dir)
            .env_remove("SPIN_VARIABLE_ADMIN_TOKEN")
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting mallsync-host up");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut printed = Vec::new();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("mallsync-host stopped:\n{}", printed.join("\n"));
            };
            if let Some(rest) = line.split(" on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
            printed.push(line);
        };
        // Keep reading, so the host never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Host { child, addr }
    }

    /// One request over HTTP/1.0, so the answer comes unchunked and ends with the connection.
    fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).expect("connecting to the host");
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: {}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {answer:?}"));
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

#[test]
fn two_host_processes_on_one_redis_and_one_sqlite_file_are_one_app() {
    let Some(redis) = Redis::start() else { return };
    build_once().expect("building the components");
    let dir = tempfile::tempdir().unwrap();
    let dotenv = dir.path().join("mallsync.env");
    std::fs::write(
        &dotenv,
        format!(
            "SPIN_VARIABLE_ADMIN_TOKEN={ADMIN_TOKEN}\nSPIN_VARIABLE_TEST_ROUTES_ENABLED=true\nSPIN_VARIABLE_ENCRYPTION_KEY={}\n",
            mallsync_test_support::TEST_ENCRYPTION_KEY
        ),
    )
    .unwrap();
    let config = dir.path().join("runtime-config.toml");
    std::fs::write(
        &config,
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{}/0\"\n\n\
             [sqlite_database.default]\ntype = \"spin\"\npath = {:?}\n\n\
             [[variables_provider]]\ntype = \"env\"\ndotenv_path = {:?}\n",
            redis.port,
            dir.path().join("mallsync.db").display().to_string(),
            dotenv.display().to_string(),
        ),
    )
    .unwrap();
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let a = Host::start(&config, &dir_a);
    let b = Host::start(&config, &dir_b);

    let cmdline = std::fs::read(format!("/proc/{}/cmdline", a.child.id())).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&cmdline).contains(ADMIN_TOKEN));

    assert_eq!(
        a.request("PUT", "/base/__test/kv/cursor", "2026-11-30T06:00:00Z")
            .0,
        204
    );
    assert_eq!(
        b.request("GET", "/base/__test/kv/cursor", ""),
        (200, "2026-11-30T06:00:00Z".to_string())
    );
    assert_eq!(
        b.request("PUT", "/shopserve/__test/sqlite/order-9", "shipped")
            .0,
        204
    );
    assert_eq!(
        a.request("GET", "/shopserve/__test/sqlite/order-9", ""),
        (200, "shipped".to_string())
    );

    // Ten dispatch calls at once, five to each process: all run, all in one run log.
    std::thread::scope(|s| {
        for i in 0..10 {
            let host = if i % 2 == 0 { &a } else { &b };
            s.spawn(move || {
                let (status, body) = host.request("POST", "/internal/dispatch", "");
                assert_eq!(status, 200, "{body}");
            });
        }
    });
    let (status, body) = a.request("GET", "/internal/dispatch", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""http":10"#), "{body}");

    for host in [a, b] {
        let status = host.stop();
        assert!(status.success(), "{status}");
    }
    // Nothing went to the default files of either data dir.
    for data in [&dir_a, &dir_b] {
        assert!(!data.join("sqlite_key_value.db").exists());
        assert!(!data.join("sqlite_db.db").exists());
    }
}
