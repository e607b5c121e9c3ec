//! The benchmark's `--quick` JSON (12 planted cases, 3 seeds, no CNN) is
//! byte-identical to the committed `tests/quick.json`, on rayon's default
//! thread pool and on one thread (`RAYON_NUM_THREADS=1`). The JSON holds
//! only settings and scores, nothing that varies between runs or machines
//! (the run's time and thread count go to stderr only). Rust does not
//! contract or reorder floating-point arithmetic, so the release build
//! writes the same bytes as this test's (opt-level 1) build.
//!
//! A change meant to change results (a method, a metric, a case, the
//! summary) regenerates the file with
//! `REGENERATE=1 cargo test -p multiscale-lime-faithfulness --test quick_json`
//! and says why in its commit; a change that must not change results (a
//! refactor, a speed-up) leaves it as it is. The file is what
//! `cargo run --release -p multiscale-lime-faithfulness -- --quick --out FILE`
//! writes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Starts the benchmark binary with `--quick`, its JSON to `out`, on
/// `threads` rayon threads (`None`: rayon's default pool).
fn spawn_quick(out: &Path, threads: Option<&str>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_faithfulness"));
    command
        .arg("--quick")
        .arg("--out")
        .arg(out)
        .env_remove("RAYON_NUM_THREADS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(threads) = threads {
        command.env("RAYON_NUM_THREADS", threads);
    }
    command.spawn().expect("the faithfulness binary starts")
}

/// Waits for `child` and reads the JSON it wrote to `out`.
fn finish(child: Child, out: &Path, what: &str) -> Vec<u8> {
    let done = child.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{what}: {}\n{}",
        done.status,
        String::from_utf8_lossy(&done.stderr)
    );
    std::fs::read(out).unwrap()
}

/// The first line where `got` and `want` differ, both sides shown.
fn first_difference(got: &[u8], want: &[u8]) -> String {
    let (got, want) = (String::from_utf8_lossy(got), String::from_utf8_lossy(want));
    let mut lines = got.lines().zip(want.lines()).enumerate();
    match lines.find(|(_, (g, w))| g != w) {
        Some((i, (g, w))) => format!("line {}: got `{g}`, want `{w}`", i + 1),
        None => format!(
            "{} lines against {}",
            got.lines().count(),
            want.lines().count()
        ),
    }
}

#[test]
fn quick_json_is_byte_identical_to_the_committed_file_on_any_thread_count() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/quick.json");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("faithfulness-quick-json");
    std::fs::create_dir_all(&dir).unwrap();
    let (default_out, single_out) = (dir.join("default.json"), dir.join("one-thread.json"));
    // Both at once: the one-thread run is the longer, the default pool
    // uses the cores it leaves.
    let default_run = spawn_quick(&default_out, None);
    let single_run = spawn_quick(&single_out, Some("1"));
    let computed = finish(default_run, &default_out, "--quick");
    let single = finish(single_run, &single_out, "--quick on one thread");

    assert!(
        computed == single,
        "the default thread pool and one thread disagree: {}",
        first_difference(&computed, &single)
    );
    if std::env::var_os("REGENERATE").is_some() {
        std::fs::write(&committed, &computed).unwrap();
        return;
    }
    let want = std::fs::read(&committed).unwrap();
    assert!(
        computed == want,
        "--quick differs from {} ({}); a change meant to change results \
         regenerates it with REGENERATE=1",
        committed.display(),
        first_difference(&computed, &want)
    );
}
