//! Windows only: runs a probe's command text with `powershell.exe -NoProfile
//! -NonInteractive -EncodedCommand` (UTF-16LE, base64, so no quoting can go wrong) and
//! collects what it printed. The caller's timeout drops the future, which kills the child.

use base64::Engine as _;

use super::Output;

/// Runs `text` and returns its exit code and output.
pub async fn run(text: &str) -> Result<Output, String> {
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(utf16);
    let out = tokio::process::Command::new("powershell.exe")
        .args(["-NoProfile", "-NonInteractive", "-EncodedCommand", &encoded])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| e.to_string())?;
    Ok(Output {
        exit_code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
