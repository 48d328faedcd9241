//! Configuration files, as UTF-8 (lossy): `tiprelay::config::RelayConfig::parse(text, path)`
//! and the client's `ClientConfig::load(path)`. The client has no parse-from-text function,
//! so the input is written to one file per process in a temporary directory (tmpfs when
//! `TMPDIR` points at one, as `fuzz/run.sh` arranges) and loaded from there.
//! Relative paths in the input resolve against that directory, so a seed with `"."` for
//! every file path passes the existence checks and reaches the later validation steps.
//! Invariant: no panic.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tiprelay::config::RelayConfig;
use tiprelay_client::ClientConfig;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("tiprelay-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the config directory");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let relay_path = dir().join("relay.toml");
    let _ = RelayConfig::parse(&text, &relay_path);
    let client_path = dir().join("tipctl.toml");
    std::fs::write(&client_path, text.as_bytes()).expect("write the client configuration");
    let _ = ClientConfig::load(&client_path);
});
