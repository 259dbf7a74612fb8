//! SDL rendering: every example renders to a valid SDL, pinned by golden files; templates can
//! be replaced without rebuilding; secrets stay out of sight.

use std::path::{Path, PathBuf};

use af_operator::render::{FileSecrets, RedactingResolver, RenderError, Renderer, TemplateSource};
use af_operator::spec::load::load_str;
use af_operator::spec::Resource;

use crate::common::examples_dir;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn example(name: &str) -> Resource {
    let path = examples_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    load_str(name, &text).unwrap().remove(0).input.preview()
}

#[test]
fn examples_render_to_valid_sdl_matching_the_golden_files() {
    let renderer = Renderer::new(TemplateSource::builtin());
    let update = std::env::var("AF_UPDATE_GOLDEN").as_deref() == Ok("1");
    let mut rendered = 0;
    // The spec files (not `bundles/`, the functions' code).
    let mut files: Vec<_> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    files.sort();
    for f in files {
        let r = example(&f);
        match renderer.render(&r, &RedactingResolver) {
            Ok(sdl) => {
                // Goes through the same parser and validator as any user SDL.
                let conv = sdl.convert().unwrap_or_else(|e| panic!("{f}: {e}"));
                assert!(!conv.groups.is_empty());
                let golden = golden_dir().join(f.replace(".yaml", ".sdl.yaml"));
                if update {
                    std::fs::write(&golden, sdl.expose_text()).unwrap();
                }
                let want = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
                    panic!("{} missing: run with AF_UPDATE_GOLDEN=1", golden.display())
                });
                assert!(
                    want == sdl.expose_text(),
                    "{f}: rendered SDL differs from {} (AF_UPDATE_GOLDEN=1 rewrites it):\n{}",
                    golden.display(),
                    sdl.expose_text()
                );
                rendered += 1;
            }
            Err(RenderError::NotDeployed { .. }) => {
                assert!(
                    f.starts_with("dns-zone") || f.starts_with("function."),
                    "{f} should render"
                );
            }
            Err(e) => panic!("{f}: {e}"),
        }
    }
    assert_eq!(
        rendered, 6,
        "agents, runtime, proxy, secret store and site render"
    );
}

#[test]
fn rendered_sdl_maps_the_spec() {
    let renderer = Renderer::new(TemplateSource::builtin());
    let sdl = renderer
        .render(&example("agent-ai.yaml"), &RedactingResolver)
        .unwrap();
    let conv = sdl.convert().unwrap();
    let svc = &conv.manifest.0[0].services[0];
    let json = serde_json::to_value(svc).unwrap();
    assert_eq!(json["name"], "app");
    assert_eq!(json["count"], 1);
    assert_eq!(json["resources"]["cpu"]["units"]["val"], "4000");
    assert_eq!(json["resources"]["gpu"]["units"]["val"], "1");
    assert_eq!(json["expose"][0]["hosts"][0], "agent.defarm.io");
    assert_eq!(json["expose"][0]["externalPort"], 80);
    assert!(json["env"].to_string().contains("PORT=8000"));
    let groups = serde_json::to_value(&conv.groups).unwrap();
    let attrs = groups[0]["resources"][0]["resource"]["gpu"]["attributes"].to_string();
    assert!(
        attrs.contains("vendor/nvidia/model/a100/ram/80Gi/interface/sxm"),
        "{attrs}"
    );
    assert_eq!(groups[0]["resources"][0]["price"]["denom"], "uact");

    // The proxy's leased IP becomes an endpoint used by its public ports.
    let proxy = renderer
        .render(&example("proxy.yaml"), &RedactingResolver)
        .unwrap();
    let text = proxy.expose_text();
    assert!(
        text.contains("endpoints:\n  leased-ip:\n    kind: ip"),
        "{text}"
    );
    let conv = proxy.convert().unwrap();
    let eps = serde_json::to_value(&conv.groups[0].resources[0].resource).unwrap()["endpoints"]
        .to_string();
    assert!(eps.contains("\"kind\":2"), "{eps}");
}

#[test]
fn secrets_are_resolved_by_the_caller_and_never_shown_by_debug() {
    let renderer = Renderer::new(TemplateSource::builtin());
    let r = example("agent-api.yaml");
    let redacted = renderer.render(&r, &RedactingResolver).unwrap();
    assert!(redacted.holds_secrets());
    assert!(redacted.expose_text().contains("DATABASE_URL=<redacted>"));
    let secrets = FileSecrets::from_yaml(
        "s.yaml",
        "platform:\n  platform-secrets:\n    DEFARM_DATABASE_URL: postgres://u:hunter2@db/defarm\n    DEFARM_DB_PASSWORD: hunter3\n",
    )
    .unwrap();
    let real = renderer.render(&r, &secrets).unwrap();
    assert!(real
        .expose_text()
        .contains("DATABASE_URL=postgres://u:hunter2@db/defarm"));
    assert!(!format!("{real:?}").contains("hunter2"));
    let missing = FileSecrets::from_yaml("s.yaml", "platform: {}\n").unwrap();
    let e = renderer.render(&r, &missing).unwrap_err();
    assert!(
        e.to_string()
            .contains("platform-secrets/DEFARM_DATABASE_URL"),
        "{e}"
    );
}

#[test]
fn templates_can_be_replaced_and_broken_ones_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = af_operator::render::BUILTIN_TEMPLATES
        .iter()
        .find(|(n, _)| *n == "agent.yaml.j2")
        .unwrap()
        .1;
    // A replacement that changes the placement name is used without rebuilding.
    std::fs::write(
        dir.path().join("agent.yaml.j2"),
        builtin
            .replace("m.placement(\"akash\"", "m.placement(\"dc1\"")
            .replace("    akash:\n", "    dc1:\n"),
    )
    .unwrap();
    let renderer = Renderer::new(TemplateSource::with_dir(dir.path()));
    let sdl = renderer
        .render(&example("agent-api.yaml"), &RedactingResolver)
        .unwrap();
    assert_eq!(sdl.convert().unwrap().groups[0].name, "dc1");

    std::fs::write(
        dir.path().join("agent.yaml.j2"),
        "version: \"2.0\"\n\n{% for x in %}\n",
    )
    .unwrap();
    let e = Renderer::new(TemplateSource::with_dir(dir.path()))
        .render(&example("agent-api.yaml"), &RedactingResolver)
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("agent.yaml.j2:3:"), "{msg}");

    // A template that renders something that is not SDL is caught by the SDL validator.
    std::fs::write(
        dir.path().join("agent.yaml.j2"),
        "version: \"2.0\"\nservices: {}\n",
    )
    .unwrap();
    let e = Renderer::new(TemplateSource::with_dir(dir.path()))
        .render(&example("agent-api.yaml"), &RedactingResolver)
        .unwrap_err();
    assert!(matches!(e, RenderError::InvalidSdl { .. }), "{e}");
    assert!(e.to_string().contains("agent.yaml.j2"), "{e}");
}
