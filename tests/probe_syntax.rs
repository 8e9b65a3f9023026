//! The PowerShell this tool runs or writes parses: every probe script under
//! `assets/probes/`, the exact command text each probe is run with, and the Register script
//! after `apply`. Parsed with the tree-sitter PowerShell grammar (no PowerShell here), so
//! this proves syntax only, not behaviour.

use std::collections::BTreeMap;

use mfa_rollout::checks::Planned;
use mfa_rollout::checks::powershell::{PROBES, command_text};
use mfa_rollout::edit::{Target, Wanted, compute};

fn errors(source: &str) -> Vec<String> {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_powershell::LANGUAGE.into()).unwrap();
    let tree = parser.parse(source, None).unwrap();
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            let p = node.start_position();
            out.push(format!("line {}: {}", p.row + 1, node.to_sexp()));
        }
        stack.extend(node.children(&mut cursor));
    }
    out
}

#[test]
fn the_parser_catches_a_broken_script() {
    assert!(!errors("if ($x { Write-Host 'a'\n").is_empty());
    assert!(errors("if ($x) { Write-Host 'a' }\n").is_empty());
}

#[test]
fn every_probe_script_and_its_command_text_parse() {
    for probe in PROBES {
        let found = errors(probe.script);
        assert!(found.is_empty(), "{}: {found:?}", probe.name);

        let params: BTreeMap<String, String> = probe
            .params
            .iter()
            .map(|(k, _, _)| ((*k).to_string(), "it's, a value".to_string()))
            .collect();
        let check = Planned {
            step: "x".into(),
            name: "x".into(),
            kind: "powershell".into(),
            params,
            not_run: None,
            domain: None,
        };
        let text = command_text(probe, &check);
        let found = errors(&text);
        assert!(found.is_empty(), "{} command text: {found:?}\n{text}", probe.name);
    }
}

#[test]
fn the_register_script_parses_after_apply() {
    for fixture in ["register.ps1", "register-continued.ps1"] {
        let bytes = std::fs::read(format!("tests/fixtures/edit/{fixture}")).unwrap();
        let wanted = Wanted {
            config_path: r"C:\Program Files\Multi-Factor Authentication Server\it's.config".into(),
            ..Wanted::default()
        };
        let out = compute(Target::Script, &bytes, &wanted).unwrap();
        let text = String::from_utf8(out.bytes).unwrap();
        let found = errors(text.trim_start_matches('\u{feff}'));
        assert!(found.is_empty(), "{fixture}: {found:?}\n{text}");
    }
}
