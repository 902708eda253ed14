//! A real browser for the console tests: headless Chromium driven through chromedriver
//! (WebDriver), both from the distribution's packages, and the app with its fake carts.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
use mallsync_test_support::client::Client as AppClient;
pub use mallsync_test_support::client::Reply;
use serde_json::{json, Value};

/// How long a page may take to show what a step waits for (the host runs on a loaded machine).
const PATIENCE: Duration = Duration::from_secs(60);

/// The program the environment variable `env` names, else `name` on the PATH (Debian's
/// `apt-get install chromium chromium-driver` puts both in /usr/bin).
fn binary(env: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// A chromedriver of our own on a free loopback port, stopped on drop.
pub struct Chromedriver {
    child: Child,
    pub url: String,
    chromium: PathBuf,
    /// A fresh profile per run: no state from an earlier run or another test.
    profile: tempfile::TempDir,
}

impl Chromedriver {
    /// Starts chromedriver, or returns `None` with a note when it or Chromium is not installed
    /// (and `MALLSYNC_REQUIRE_BROWSER` is not set: then that is a failure).
    pub fn start() -> Option<Chromedriver> {
        let driver = binary("MALLSYNC_CHROMEDRIVER", "chromedriver");
        let chromium = binary("MALLSYNC_CHROMIUM", "chromium");
        let missing: Vec<&Path> = [driver.as_path(), chromium.as_path()]
            .into_iter()
            .filter(|p| !p.exists())
            .collect();
        if !missing.is_empty() {
            let note = format!(
                "{missing:?} not found: install chromium and chromium-driver \
                 (apt-get install -y chromium chromium-driver) to run the browser tests"
            );
            assert!(
                std::env::var_os("MALLSYNC_REQUIRE_BROWSER").is_none(),
                "MALLSYNC_REQUIRE_BROWSER is set, but {note}"
            );
            eprintln!("note: skipping the browser tests: {note}");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("finding a free port: {e}"))
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = AppClient::default();
        while !client.answers(&format!("{url}/status")) {
            assert!(
                started.elapsed() < PATIENCE,
                "{} did not answer on {url}",
                driver.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("a Chromium profile: {e}"));
        Some(Chromedriver {
            child,
            url,
            chromium,
            profile,
        })
    }

    /// A new headless session. The flags keep Chromium from calling out (the network here
    /// refuses it, which stalls the browser) and let it run as root in a container.
    pub async fn session(&self) -> Browser {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--window-size=1280,1000",
            "--lang=ja",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", self.profile.path().display())])
        .collect::<Vec<_>>();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": self.chromium, "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("a Chromium session through {}: {e}", self.url));
        Browser { client }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window, with the steps the tests take in it.
pub struct Browser {
    pub client: Client,
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The element `css` selects, once the page shows it.
    pub async fn wait(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
    }

    /// Waits until the JavaScript expression `condition` is true in the page.
    pub async fn wait_until(&self, condition: &str) {
        let started = Instant::now();
        loop {
            let value = self
                .client
                .execute(&format!("return Boolean({condition});"), vec![])
                .await
                .unwrap_or_else(|e| panic!("evaluating {condition}: {e}"));
            if value == Value::Bool(true) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "never true: {condition}\npage: {}",
                self.text("body").await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("running {script}: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    pub async fn click(&self, css: &str) {
        self.wait(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Replaces what the field `css` holds with `text`, as typed.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clearing {css}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.wait(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choosing {value} in {css}: {e}"));
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("the current URL: {e}"))
            .to_string()
    }

    /// Saves the window as `<name>.png` in the directory `MALLSYNC_SCREENSHOTS` names (the
    /// README's pictures); does nothing without it.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("MALLSYNC_SCREENSHOTS") else {
            return;
        };
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// Plain HTTP to the app, for what the operator does not do in the console: checks of what was
/// stored and of the headers the console is served with.
pub struct Api {
    pub base: String,
    client: AppClient,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_string(),
            client: AppClient::default(),
        }
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        self.client.call(method, &url, headers, body)
    }

    pub fn call_as(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let bearer = format!("Bearer {token}");
        let bytes = body.map(|b| b.to_string().into_bytes());
        self.call(
            method,
            path,
            &[("authorization", &bearer)],
            bytes.as_deref(),
        )
    }
}
