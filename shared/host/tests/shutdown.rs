//! Stopping `up` lets a running guest finish: the request in flight gets its whole answer, and
//! the server returns only after that.

use mallsync_host::{AppOptions, Server};
use mallsync_test_support::{build_once, workspace_manifest};
use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::mpsc,
    time::Duration,
};

#[test]
fn shutdown_waits_for_a_guest_still_waiting_on_its_outbound_call() {
    build_once().expect("building the components");
    // A cart API that answers only when the test says so.
    let cart = TcpListener::bind("127.0.0.1:0").unwrap();
    let cart_url = format!("http://{}", cart.local_addr().unwrap());
    let (cart_called, cart_was_called) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let (mut stream, _) = cart.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        cart_called.send(()).unwrap();
        released.recv().unwrap();
        let body = "slow cart answer";
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });

    let dir = tempfile::tempdir().unwrap();
    let mut options = AppOptions::new(workspace_manifest());
    options.data_dir = dir.path().to_path_buf();
    options.cron = false;
    options
        .variables
        .insert("test_routes_enabled".into(), "true".into());
    options
        .variables
        .insert("bcart_api_origin".into(), cart_url.clone());
    options.variables.insert(
        "encryption_key".into(),
        mallsync_test_support::TEST_ENCRYPTION_KEY.into(),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(Server::bind(
            &options,
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))
        .unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(server.run_until(async {
        let _ = stopped.await;
    }));

    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET /bcart/__test/outbound?url={cart_url}/slow HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    });
    cart_was_called
        .recv_timeout(Duration::from_secs(60))
        .expect("the guest called the cart");

    stop.send(()).unwrap();
    // New connections are refused once shutdown began, while the guest is still running.
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(addr).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(refused, "the listener still accepts after shutdown began");
    assert!(
        !serving.is_finished(),
        "shutdown did not wait for the running guest"
    );

    release.send(()).unwrap();
    let answer = client.join().unwrap();
    runtime.block_on(serving).unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("slow cart answer"), "{answer}");
}
