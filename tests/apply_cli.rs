//! `mfa-rollout apply` and the `file` check on the real binary: the diff, --dry-run, the
//! refusal to wait without a terminal, the backup, a second apply that changes nothing, a
//! refused password; and that the password never shows in any output, log, state,
//! journal or result.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mfa-rollout");
const PASSWORD: &str = "Zq9&Pw\"Secret'Long";

struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Self {
        let lab = Self { dir: tempfile::tempdir().unwrap() };
        let mut c = lab.cmd("");
        c.args(["init", "--profile", "demo"]).assert().success();
        for (name, fixture) in [
            ("web.config", "web.config"),
            ("adapter.config", "adapter.config"),
            ("Register script.ps1", "register.ps1"),
        ] {
            std::fs::copy(Path::new("tests/fixtures/edit").join(fixture), lab.path(name)).unwrap();
        }
        let adapter = lab.path("adapter.config").display().to_string();
        lab.cmd("")
            .args(["set", &format!("portal_web_config={}", lab.path("web.config").display())])
            .arg(format!("adfs_adapter_config={adapter}"))
            .arg(format!("adfs_register_script={}", lab.path("Register script.ps1").display()))
            .assert()
            .success();
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self, password: &str) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .env_remove("MFA_ROLLOUT_STATE")
            .env("NO_COLOR", "1")
            .arg("--state")
            .arg(self.path("rollout.toml"))
            .timeout(Duration::from_secs(60));
        if password.is_empty() {
            c.env_remove("MFA_ROLLOUT_SECRET_SDK_PASSWORD");
        } else {
            c.env("MFA_ROLLOUT_SECRET_SDK_PASSWORD", password);
        }
        c
    }

    /// Every file in the lab folder except the edited configs and their backups.
    fn tool_files(&self) -> Vec<(PathBuf, String)> {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with("rollout")
            })
            .map(|p| {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                (p, text)
            })
            .collect()
    }
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn apply_web_config_end_to_end() {
    let lab = Lab::new();
    let original = std::fs::read(lab.path("web.config")).unwrap();

    // No terminal, no --yes: shows the diff, refuses to wait, names --yes, writes nothing.
    let out = lab.cmd(PASSWORD).args(["apply", "portal.web-config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--yes"));
    assert!(text(&out).contains("+    <add key=\"USE_WEB_SERVICE_SDK\" value=\"true\" />"));
    assert_eq!(std::fs::read(lab.path("web.config")).unwrap(), original);

    let out = lab.cmd(PASSWORD).args(["apply", "portal.web-config", "--dry-run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).contains("dry run: nothing was written"));
    assert_eq!(std::fs::read(lab.path("web.config")).unwrap(), original);

    let out = lab.cmd(PASSWORD).args(["apply", "portal.web-config", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let backups: Vec<_> = std::fs::read_dir(lab.dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name().to_string_lossy().starts_with("web.config.")
                && e.file_name().to_string_lossy().ends_with(".bak")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read(backups[0].path()).unwrap(), original, "backup holds the original");
    let edited = std::fs::read(lab.path("web.config")).unwrap();
    assert!(edited.starts_with(&[0xEF, 0xBB, 0xBF]));

    let out = lab.cmd(PASSWORD).args(["apply", "portal.web-config", "--yes"]).output().unwrap();
    assert!(text(&out).contains("nothing to change"), "{}", text(&out));
    assert_eq!(std::fs::read(lab.path("web.config")).unwrap(), edited);

    // The file check now passes, with the password compared.
    let out = lab
        .cmd(PASSWORD)
        .args(["check", "portal.web-config", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("matches the stored password"));
    let out = lab.cmd("Other-Password").args(["check", "portal.web-config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("does not match the stored password"));
    assert!(!text(&out).contains("Other-Password"));
}

#[test]
fn apply_adapter_and_script() {
    let lab = Lab::new();
    let out = lab.cmd(PASSWORD).args(["apply", "adfs.adapter-config", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "`&` is refused: {}", text(&out));
    assert!(text(&out).contains("`&`"));
    let out =
        lab.cmd("NoAmp-Pw1").args(["apply", "adfs.adapter-config", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("NoAmp-Pw1"));

    let out = lab.cmd("").args(["apply", "adfs.register-script", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let script = std::fs::read_to_string(lab.path("Register script.ps1")).unwrap();
    let quoted = format!("-ConfigurationFilePath '{}'", lab.path("adapter.config").display());
    assert_eq!(script.matches(&quoted).count(), 1, "{script}");

    let out = lab.cmd("NoAmp-Pw1").args(["check", "adfs", "--format", "json"]).output().unwrap();
    let t = text(&out);
    assert!(t.contains("\"step\": \"adfs.register-script\""), "{t}");
    assert!(t.contains("Register-AdfsAuthenticationProvider -ConfigurationFilePath"), "{t}");
}

#[test]
fn refusals_name_the_reason_and_not_the_password() {
    let lab = Lab::new();
    let out =
        lab.cmd("abc<def-Secret").args(["apply", "portal.web-config", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("`<` followed by a letter"));
    assert!(!text(&out).contains("abc<def-Secret"));

    let out = lab.cmd("").args(["apply", "portal.web-config", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("MFA_ROLLOUT_SECRET_SDK_PASSWORD"), "{}", text(&out));

    let out = lab.cmd(PASSWORD).args(["apply", "portal.dns"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("has no file edit"));

    std::fs::write(lab.path("web.config"), "<configuration><appSettings>\n</configuration>")
        .unwrap();
    let out = lab.cmd(PASSWORD).args(["apply", "portal.web-config", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("web.config:2:"), "{}", text(&out));
    assert!(text(&out).contains("nothing was written"));
}

#[test]
fn the_password_never_reaches_output_log_state_or_journal() {
    let lab = Lab::new();
    let mut outputs = String::new();
    for args in [
        &["apply", "portal.web-config", "--dry-run"][..],
        &["apply", "portal.web-config", "--yes"],
        &["apply", "adfs.adapter-config", "--yes"],
        &["check", "portal.web-config", "adfs.adapter-config", "--format", "json"],
        &["check", "portal.web-config", "--format", "junit"],
        &["export", "--format", "md"],
        &["export", "--format", "json"],
        &["log"],
    ] {
        let out = lab.cmd(PASSWORD).args(args).output().unwrap();
        outputs.push_str(&text(&out));
    }
    let forms = [
        PASSWORD.to_string(),
        "Zq9&amp;Pw".into(),
        "Secret'Long".into(),
        "Secret&apos;Long".into(),
    ];
    for f in &forms {
        assert!(!outputs.contains(f.as_str()), "`{f}` in the output:\n{outputs}");
        for (path, body) in lab.tool_files() {
            assert!(!body.contains(f.as_str()), "`{f}` in {}", path.display());
        }
    }
    assert!(outputs.contains("********"));
}
