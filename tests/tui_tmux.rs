//! Drives the real binary in a private tmux server, as an operator would: open the demo
//! rollout, attest a step by keys, quit, reopen and find it still attested; and check
//! that SIGTERM leaves the wizard cleanly (alternate screen off, exit status 0).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: PathBuf,
    /// The wizard's exit status lands here (tmux itself sometimes loses it).
    exit_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    fn start(cwd: &Path, args: &str) -> Self {
        assert!(
            Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success()),
            "tmux is not installed: run the README's test command (scripts/test), which installs it"
        );
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("sock");
        let conf = dir.path().join("tmux.conf");
        std::fs::write(&conf, "set -s escape-time 0\nset -g remain-on-exit on\n").unwrap();
        let bin = env!("CARGO_BIN_EXE_mfa-rollout");
        let exit_file = dir.path().join("exit-status");
        let cmd = format!(
            "cd '{}' && '{bin}' {args}; echo $? > '{}'",
            cwd.display(),
            exit_file.display()
        );
        let ok = Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .arg("-f")
            .arg(&conf)
            .args(["new-session", "-d", "-x", "100", "-y", "30", &cmd])
            .env_remove("NO_COLOR")
            .env("TERM", "xterm-256color")
            .status()
            .unwrap();
        assert!(ok.success());
        Self { socket, exit_file, _dir: dir }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-S").arg(&self.socket).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen plus the scrollback (the plain wizard scrolls).
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-S", "-2000"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {text:?}; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the wizard to exit; returns "<exit status> <alternate screen on>".
    fn wait_dead(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(code) = std::fs::read_to_string(&self.exit_file)
                && !code.trim().is_empty()
            {
                let alt = self.tmux(&["display", "-p", "#{alternate_on}"]);
                return format!("{} {}", code.trim(), alt.trim());
            }
            assert!(
                Instant::now() < deadline,
                "the wizard did not exit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The wizard's process id (the child of the pane's shell).
    fn pid(&self) -> i32 {
        let shell: i32 = self.tmux(&["display", "-p", "#{pane_pid}"]).trim().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
                .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                return pid.parse().unwrap();
            }
            assert!(Instant::now() < deadline, "no wizard process under the pane's shell");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-S").arg(&self.socket).arg("kill-server").status();
    }
}

#[test]
fn attest_quit_reopen_keeps_the_step_attested() {
    let work = tempfile::tempdir().unwrap();
    let t = Tmux::start(work.path(), "--profile demo");
    t.wait_for("Press any key");
    t.keys(&["Enter"]);
    t.wait_for("primary.cert");

    t.keys(&["a"]);
    t.wait_for("Attest:");
    // Evidence fields (empty) then the note.
    for _ in 0..20 {
        if t.screen().contains("Attest: note") {
            break;
        }
        t.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(30));
    }
    t.wait_for("Attest: note");
    t.keys(&["-l", "bound by tmux test"]);
    t.keys(&["Enter"]);
    t.wait_for("attested done");
    t.keys(&["q"]);
    assert_eq!(t.wait_dead(), "0 0", "exit status 0 and the alternate screen left");
    drop(t);

    let t = Tmux::start(work.path(), "");
    let screen = t.wait_for("primary.cert");
    assert!(!screen.contains("Press any key"), "the welcome screen shows once:\n{screen}");
    assert!(screen.contains("● done"), "the step is still attested:\n{screen}");
    t.keys(&["q"]);
    t.wait_dead();

    let out = Command::new(env!("CARGO_BIN_EXE_mfa-rollout"))
        .current_dir(work.path())
        .args(["steps", "--format", "json"])
        .output()
        .unwrap();
    let steps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cert = steps.as_array().unwrap().iter().find(|s| s["key"] == "primary.cert").unwrap();
    assert_eq!(cert["status"], "done");
}

#[test]
fn sigterm_restores_the_terminal() {
    let work = tempfile::tempdir().unwrap();
    let t = Tmux::start(work.path(), "--profile demo");
    t.wait_for("Press any key");
    assert!(
        t.tmux(&["display", "-p", "#{alternate_on}"]).trim() == "1",
        "the wizard uses the alternate screen"
    );
    let pid = t.pid();
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(t.wait_dead(), "0 0", "SIGTERM: clean exit, alternate screen left");
}

#[test]
fn idle_wizard_uses_no_cpu() {
    let work = tempfile::tempdir().unwrap();
    let t = Tmux::start(work.path(), "--profile demo");
    t.wait_for("Press any key");
    t.keys(&["Enter"]);
    t.wait_for("primary.cert");
    let pid = t.pid();
    let ticks = |pid: i32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let before = ticks(pid);
    std::thread::sleep(Duration::from_secs(2));
    let after = ticks(pid);
    assert!(after - before <= 2, "the idle wizard used {} clock ticks in 2 s", after - before);
    t.keys(&["q"]);
    t.wait_dead();
}

#[test]
fn plain_wizard_attests_one_step_at_a_time() {
    let work = tempfile::tempdir().unwrap();
    let t = Tmux::start(work.path(), "--plain --profile demo");
    t.wait_for("what now?");
    let screen = t.screen();
    assert!(screen.contains("primary.cert"), "{screen}");
    t.keys(&["Enter"]);
    // Evidence prompts, then the note.
    for _ in 0..20 {
        if t.screen().contains("Note (optional)") {
            break;
        }
        t.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(40));
    }
    t.wait_for("Note (optional)");
    t.keys(&["-l", "plain mode note"]);
    t.keys(&["Enter"]);
    t.wait_for("primary.cert: attested done");
    // Linear: the next open step comes up by itself.
    t.wait_for("primary.iis-role — what now?");
    t.keys(&["-l", "Quit"]);
    t.keys(&["Enter"]);
    assert_eq!(t.wait_dead().split(' ').next(), Some("0"));

    let state = std::fs::read_to_string(work.path().join("mfa-rollout.toml")).unwrap();
    assert!(state.contains("plain mode note"), "{state}");
}
