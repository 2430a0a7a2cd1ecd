//! `reprobe report --html`: one self-contained page (nothing fetched from elsewhere, the plots embedded)
//! with one table row per setting, sortable, with the comparison's columns under `--baseline`.
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::json;

mod util;
use util::{current_test, record_skip, reprobe};

/// Run folders of 3 settings (`aggregate.kind`) × 2 seeds with 3 epochs of metrics and a result.
fn runs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for (k, kind) in ["mean", "attention", "<concat>"].iter().enumerate() {
        for seed in 1..=2 {
            let dir = root.join(format!("run_{k}_{seed}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("config.toml"),
                format!("seed = {seed}\n[aggregate]\nkind = \"{kind}\"\n"),
            )
            .unwrap();
            let mut lines = String::new();
            for epoch in 1..=3 {
                let f1 = 0.4 + 0.05 * epoch as f64 + 0.02 * k as f64 + 0.003 * seed as f64;
                lines += &format!(
                    "{}\n",
                    json!({"epoch": epoch, "val/f1": f1, "train/loss": 5.0 / epoch as f64})
                );
            }
            std::fs::write(dir.join("metrics.jsonl"), lines).unwrap();
            let f1 = 0.55 + 0.02 * k as f64 + 0.003 * seed as f64;
            std::fs::write(
                dir.join("result.json"),
                json!({"val/f1": f1, "best_epoch": 3, "seed": seed}).to_string(),
            )
            .unwrap();
            dirs.push(dir);
        }
    }
    dirs
}

fn report(dirs: &[PathBuf], out: &Path, extra: &[&str]) -> String {
    let mut args: Vec<&str> = vec!["report"];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    args.extend([
        "--by",
        "aggregate.kind",
        "--html",
        "--out",
        out.to_str().unwrap(),
    ]);
    args.extend(extra);
    let run = reprobe(&args);
    assert!(
        run.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(out.join("report.html")).unwrap()
}

/// The rows of the table body.
fn body_rows(html: &str) -> Vec<&str> {
    let body = &html[html.find("<tbody>").unwrap()..html.find("</tbody>").unwrap()];
    body.split("<tr").skip(1).collect()
}

/// Every `data:` image, decoded.
fn embedded_images(html: &str) -> Vec<String> {
    html.split("src=\"data:image/svg+xml;base64,")
        .skip(1)
        .map(|rest| {
            let b64 = &rest[..rest.find('"').unwrap()];
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            String::from_utf8(bytes).unwrap()
        })
        .collect()
}

#[test]
fn the_html_report_is_self_contained_with_one_row_per_setting() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("report");
    let html = report(&runs(root.path()), &out, &[]);
    // Nothing is fetched: no http(s) anywhere, no external stylesheet or script, every src a data URI.
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<link") && !html.contains("<script src") && !html.contains("@import"));
    assert_eq!(
        html.matches(" src=\"").count(),
        html.matches(" src=\"data:").count()
    );
    // One row per setting, in the summary's order, with n and mean ± std; the setting text is escaped.
    let rows = body_rows(&html);
    assert_eq!(rows.len(), 3, "{html}");
    assert!(rows[0].contains("<td>mean</td>") && rows[0].contains("data-sort=\"2\">2</td>"));
    assert!(rows[0].contains(">0.5545 ± 0.0021</td>"), "{}", rows[0]);
    assert!(rows[2].contains("<td>&lt;concat&gt;</td>"), "{}", rows[2]);
    assert!(html.contains("<table class=\"sortable\">") && html.contains("<script>"));
    // Every SVG plot the report wrote is embedded, and decodes to that SVG.
    let svgs: Vec<String> = ["learning_curves", "bars"]
        .iter()
        .map(|s| std::fs::read_to_string(out.join(format!("{s}.svg"))).unwrap())
        .collect();
    let images = embedded_images(&html);
    assert_eq!(images, svgs);
}

#[test]
fn the_html_report_carries_the_comparison_with_the_baseline() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("report");
    let html = report(&runs(root.path()), &out, &["--baseline", "kind=mean"]);
    assert!(!html.contains("http://") && !html.contains("https://"));
    let rows = body_rows(&html);
    assert_eq!(rows.len(), 3);
    assert!(rows[0].starts_with(" class=\"baseline\">") && rows[0].contains(">baseline</td>"));
    // attention − mean = 0.02 exactly in every seed: Δ +0.0200, the t-test columns filled; no per-document
    // counts in these runs, so no bootstrap interval, and a note says why.
    assert!(rows[1].contains(">+0.0200</td>"), "{}", rows[1]);
    assert!(html.contains("Welch&#39;s t-test") && html.contains("dev_documents.json is missing"));
    for header in ["Δ val/f1", "95 % CI of Δ", ">t<", ">df<", ">p<"] {
        assert!(html.contains(header), "{header}");
    }
    // The significance plot is embedded with the others.
    assert_eq!(embedded_images(&html).len(), 3);
    assert!(html.contains("<figure id=\"significance\">"));
}

/// The sorting script in headless Chromium (from the Debian package `chromium`): clicking the `val/f1`
/// header sorts ascending, a second click descending. Where Chromium is not installed, a visible skip that
/// does not fail CI (as `view_cli`'s browser check).
#[test]
fn the_table_sorts_in_a_real_browser() {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        let log = std::env::var_os("REPROBE_SKIP_LOG").filter(|l| !l.is_empty());
        return record_skip(
            "chromium",
            &current_test(),
            "/usr/bin/chromium (Debian package chromium) is missing",
            log.as_deref().map(Path::new),
            None,
        );
    }
    let root = tempfile::tempdir().unwrap();
    let html = report(&runs(root.path()), &root.path().join("report"), &[]);
    // After the page's own script: click, record the order of the first column, click again, record.
    let clicks = "<script>\
        function order() { return Array.from(document.querySelectorAll('tbody tr'))\
          .map(function (r) { return r.cells[0].textContent; }).join('|'); }\
        var th = document.querySelectorAll('th')[2];\
        th.click(); document.body.setAttribute('data-ascending', order());\
        th.click(); document.body.setAttribute('data-descending', order());\
        </script>";
    let page = root.path().join("clicked.html");
    std::fs::write(&page, html.replace("</body>", &format!("{clicks}</body>"))).unwrap();
    let run = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!(
            "--user-data-dir={}",
            root.path().join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&run.stdout);
    assert!(
        dom.contains("data-ascending=\"mean|attention|&lt;concat&gt;\"")
            && dom.contains("data-descending=\"&lt;concat&gt;|attention|mean\""),
        "{}",
        &dom[..dom.len().min(2000)]
    );
}
