//! `--follow`: tailing an audit log through rotation by rename and by copytruncate, resuming
//! from the persisted offset, and end to end into the detector and a sink.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::*;
use serve::follow::{Follower, LineSink, OffsetStore};

#[derive(Default)]
struct Collect(Vec<String>);

impl LineSink for Collect {
    fn lines(&mut self, data: &[u8]) -> std::io::Result<()> {
        let text = std::str::from_utf8(data).unwrap();
        assert!(text.ends_with('\n'), "only complete lines are handed over");
        self.0.extend(text.lines().map(String::from));
        Ok(())
    }
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn follower(state: &Path, log: &Path) -> Follower {
    Follower::new(log.to_path_buf(), OffsetStore::new(state, log).unwrap())
}

#[test]
fn rotation_by_rename_reads_the_old_file_to_its_end_then_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let mut f = follower(dir.path(), &log);
    let mut out = Collect::default();
    assert_eq!(f.poll(&mut out).unwrap(), 0, "no file yet");
    append(&log, "1\n2\n3");
    f.poll(&mut out).unwrap();
    assert_eq!(out.0, ["1", "2"], "a line without its newline waits");
    append(&log, "\n");
    // the writer still appends to the renamed file before reopening
    fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
    append(&dir.path().join("audit.log.1"), "4\n");
    append(&log, "5\n6\n");
    f.poll(&mut out).unwrap();
    assert_eq!(out.0, ["1", "2", "3", "4", "5", "6"]);
    append(&log, "7\n");
    f.poll(&mut out).unwrap();
    assert_eq!(out.0.last().unwrap(), "7");
}

#[test]
fn copytruncate_starts_again_from_the_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let mut f = follower(dir.path(), &log);
    let mut out = Collect::default();
    append(&log, "first line\nsecond line\n");
    f.poll(&mut out).unwrap();
    fs::copy(&log, dir.path().join("audit.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, "third\n");
    f.poll(&mut out).unwrap();
    assert_eq!(out.0, ["first line", "second line", "third"]);
}

#[test]
fn a_restart_resumes_from_the_saved_offset_even_across_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, "1\n2\n");
    let mut out = Collect::default();
    follower(dir.path(), &log).poll(&mut out).unwrap();
    assert_eq!(out.0, ["1", "2"]);

    // restart: only what is new
    append(&log, "3\n");
    let mut out = Collect::default();
    follower(dir.path(), &log).poll(&mut out).unwrap();
    assert_eq!(out.0, ["3"]);

    // down while the file was rotated: the rest of the old file, then the new one
    append(&log, "4\n");
    fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
    append(&log, "5\n");
    let mut out = Collect::default();
    let mut f = follower(dir.path(), &log);
    f.poll(&mut out).unwrap();
    f.poll(&mut out).unwrap();
    assert_eq!(out.0, ["4", "5"]);

    // down while the file was copytruncated: start the file again
    let mut out = Collect::default();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    let mut f = follower(dir.path(), &log);
    f.poll(&mut out).unwrap();
    assert!(out.0.is_empty());
    append(&log, "6\n");
    f.poll(&mut out).unwrap();
    assert_eq!(out.0, ["6"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followed_lines_reach_the_detector_and_survive_a_restart_without_rereading() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("kube-apiserver-audit.log");
    let alerts = dir.path().join("alerts.ndjson");
    let mut cfg = serve::ServeConfig {
        listen: "127.0.0.1:0".into(),
        insecure: true,
        allow_unauthenticated: true,
        tick: "100ms".into(),
        follow: vec![log.clone()],
        sinks: vec![serve::SinkConfig::File {
            name: None,
            path: alerts.clone(),
            max_bytes: 1 << 20,
            max_files: 2,
        }],
        ..Default::default()
    };
    cfg.wal.dir = dir.path().join("state");
    let line = |id: &str, m: &str| format!("{}\n", audit_event(id, m));
    append(&log, &(line("f1", "attack") + &line("f2", "calm") + "not json\n"));

    let run = common::start;
    let (server, stop) = run(cfg.clone()).await;
    let a = alerts.clone();
    assert!(wait_for(Duration::from_secs(10), || alert_ids(&a) == ["alert-f1"]));
    let m = server.metrics();
    assert_eq!(m.events_received.get(&["follow"]), 2);
    assert_eq!(
        m.follow_errors.get(&[&log.display().to_string()]),
        1,
        "the bad line is counted"
    );
    let _ = stop.send(());
    server.wait().await.unwrap();

    // restart: the WAL replays f1 (alert suppressed), the file is not read again
    append(&log, &line("f3", "attack"));
    let (server, stop) = run(cfg).await;
    let a = alerts.clone();
    assert!(wait_for(Duration::from_secs(10), || alert_ids(&a)
        == ["alert-f1", "alert-f3"]));
    let m = server.metrics();
    assert_eq!(
        m.events_received.get(&["follow"]),
        1,
        "only the new line was read"
    );
    assert!(wait_for(Duration::from_secs(5), || m
        .alerts_suppressed
        .get(&["file-0"])
        == 1));
    let _ = stop.send(());
    server.wait().await.unwrap();
    assert_eq!(alert_ids(&alerts), ["alert-f1", "alert-f3"]);
}
