//! `mallsync-host` as a newcomer meets it: help, plain error lines, the quick start with no flags.

use mallsync_test_support::{build_once, workspace_manifest};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Command, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_mallsync-host");

fn root() -> PathBuf {
    workspace_manifest().parent().unwrap().to_path_buf()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .env("RUST_BACKTRACE", "1")
        // The service's secret, as a deployment gives it (never on the command line).
        .env(
            "SPIN_VARIABLE_ENCRYPTION_KEY",
            mallsync_test_support::TEST_ENCRYPTION_KEY,
        )
        .output()
        .expect("running mallsync-host");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_every_command_and_the_flags_of_up() {
    let (code, help, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for command in ["up", "build", "cloud-manifest"] {
        assert!(help.contains(command), "{help}");
    }
    let (code, help, _) = run(&["up", "--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--from",
        "--listen",
        "--no-build",
        "--data-dir",
        "--runtime-config-file",
        "--variable",
        "--no-cron",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn a_bad_flag_or_a_missing_file_is_a_plain_error_without_a_backtrace() {
    let (code, _, err) = run(&["up", "--listen", "port-3000"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--listen"), "{err}");

    // A secret on the command line is warned about (ps shows it); the start then stops on the
    // unreadable runtime config file, before anything is compiled.
    let (code, _, err) = run(&[
        "up",
        "--no-build",
        "--variable",
        "admin_token=visible-in-ps",
        "--runtime-config-file",
        "/nonexistent/runtime-config.toml",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("warning: the secret admin_token is on the command line"),
        "{err}"
    );
    assert!(err.contains("SPIN_VARIABLE_ADMIN_TOKEN"), "{err}");

    let (code, _, err) = run(&["up", "--no-build", "-f", "/nonexistent/spin.toml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with("error: reading /nonexistent/spin.toml"),
        "{err}"
    );
    assert!(
        !err.contains("backtrace") && !err.contains("panicked"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("runtime-config.toml");
    std::fs::write(
        &config,
        "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://db.example.turso.io\"\ntoken = \"t\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&[
        "up",
        "--no-build",
        "--runtime-config-file",
        config.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("spin up --runtime-config-file"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn cloud_manifest_check_accepts_the_checked_in_file_and_rejects_another() {
    let (code, _, err) = run(&["cloud-manifest", "--check"]);
    assert_eq!(code, 0, "{err}");
    let (code, stdout, _) = run(&["cloud-manifest", "-o", "-"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("# GENERATED from spin.toml"), "{stdout}");
    let (code, _, err) = run(&["cloud-manifest", "--check", "-o", "spin.toml"]);
    assert_eq!(code, 1);
    assert!(err.contains("cloud-manifest"), "{err}");
}

/// One HTTP/1.1 request over a fresh connection; returns the status code.
fn http_status(addr: &str, request: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connecting to the host");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[test]
fn the_quick_start_with_no_flags_generates_an_admin_token_that_opens_the_admin_routes() {
    build_once().expect("building the components");
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join(".spin");
    let mut child = Command::new(BIN)
        .args([
            "up",
            "--no-build",
            "--no-cron",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&data_dir)
        .arg("-f")
        .arg(workspace_manifest())
        // Outside the repository, so no developer's .env is read.
        .current_dir(dir.path())
        .env_remove("SPIN_VARIABLE_ADMIN_TOKEN")
        .env_remove("SPIN_VARIABLE_ENCRYPTION_KEY")
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting mallsync-host up");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut printed = Vec::new();
    let mut addr = None;
    let mut token = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.split(" on http://").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_string);
        }
        if printed.len() >= 2
            && printed[printed.len() - 2].starts_with("admin_token generated into")
        {
            token = Some(line.trim().to_string());
        }
        if line.contains("curl -X POST") {
            break;
        }
    }
    let (addr, token) = match (addr, token) {
        (Some(addr), Some(token)) => (addr, token),
        _ => {
            let _ = child.kill();
            panic!("no address or token in:\n{}", printed.join("\n"));
        }
    };
    let stored = std::fs::read_to_string(data_dir.join("admin_token")).unwrap();
    assert_eq!(stored.trim(), token);
    assert!(printed
        .iter()
        .any(|l| l.contains(&format!("Bearer {token}"))));

    let body = r#"{"name": "quick start"}"#;
    let created = http_status(
        &addr,
        &format!(
            "POST /bcart/shops HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    let refused = http_status(
        &addr,
        &format!(
            "POST /bcart/shops HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );

    // SIGTERM, as Kubernetes or systemd stop it: a clean exit.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(created, 201, "{}", printed.join("\n"));
    assert_eq!(refused, 401);
    assert!(status.success(), "{status}: {}", rest.join("\n"));
    assert!(rest.iter().any(|l| l.starts_with("stopping")), "{rest:?}");
}
