//! Turns criterion's results into the evloop-vs-tokio table.
//!
//! Run: `cargo bench --bench vs_tokio` first, then
//! `cargo run --release --example bench_report`
//!
//! It reads `target/criterion/<group>/{evloop,tokio}[/<param>]/new/estimates.json`,
//! prints one row per workload (evloop's mean, tokio's mean, their ratio and
//! the ratio's range from criterion's 95% confidence intervals), and rewrites
//! the table between the markers in `docs/performance.md`, with the machine
//! and the date. Nothing is filtered: every group that has both functions
//! is reported.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

const START: &str = "<!-- bench-table:start -->";
const END: &str = "<!-- bench-table:end -->";

/// One function's mean time and its 95% confidence interval, in ns.
#[derive(Clone, Copy)]
struct Estimate {
    mean: f64,
    low: f64,
    high: f64,
}

fn read_estimate(dir: &Path) -> Option<Estimate> {
    let text = fs::read_to_string(dir.join("new").join("estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let mean = &json["mean"];
    Some(Estimate {
        mean: mean["point_estimate"].as_f64()?,
        low: mean["confidence_interval"]["lower_bound"].as_f64()?,
        high: mean["confidence_interval"]["upper_bound"].as_f64()?,
    })
}

/// Every (workload, evloop, tokio) pair found under `root`.
fn collect(root: &Path) -> Vec<(String, Estimate, Estimate)> {
    let mut rows = Vec::new();
    let Ok(groups) = fs::read_dir(root) else {
        return rows;
    };
    let mut groups: Vec<PathBuf> = groups.flatten().map(|e| e.path()).collect();
    groups.sort();
    for group in groups {
        let name = group.file_name().map(|n| n.to_string_lossy().into_owned());
        let (Some(name), evloop, tokio) = (name, group.join("evloop"), group.join("tokio")) else {
            continue;
        };
        if let (Some(e), Some(t)) = (read_estimate(&evloop), read_estimate(&tokio)) {
            rows.push((name.clone(), e, t));
            continue;
        }
        // Parameterised groups: one directory per parameter.
        let Ok(params) = fs::read_dir(&evloop) else {
            continue;
        };
        let mut params: Vec<String> = params
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|p| p != "report")
            .collect();
        params.sort_by_key(|p| (p.parse::<u64>().unwrap_or(u64::MAX), p.clone()));
        for param in params {
            if let (Some(e), Some(t)) = (
                read_estimate(&evloop.join(&param)),
                read_estimate(&tokio.join(&param)),
            ) {
                rows.push((format!("{name}/{param}"), e, t));
            }
        }
    }
    rows
}

fn human(ns: f64) -> String {
    match ns {
        ns if ns >= 1e9 => format!("{:.2} s", ns / 1e9),
        ns if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.1} µs", ns / 1e3),
        ns => format!("{ns:.0} ns"),
    }
}

/// The machine: CPU model and core count, from /proc.
fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}

/// Today's date (UTC) from the system clock, by the civil-from-days algorithm.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn table(rows: &[(String, Estimate, Estimate)]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Measured {} on {}.\n", today(), machine());
    let _ = writeln!(
        out,
        "| workload | evloop | tokio | evloop/tokio | ratio range (95% CI) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for (name, e, t) in rows {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | **{:.2}** | {:.2}–{:.2} |",
            human(e.mean),
            human(t.mean),
            e.mean / t.mean,
            e.low / t.high,
            e.high / t.low,
        );
    }
    out
}

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rows = collect(&root.join("target").join("criterion"));
    if rows.is_empty() {
        eprintln!("no results under target/criterion: run `cargo bench --bench vs_tokio` first");
        std::process::exit(1);
    }
    let table = table(&rows);
    print!("{table}");
    let doc = root.join("docs").join("performance.md");
    let text = fs::read_to_string(&doc)?;
    match (text.find(START), text.find(END)) {
        (Some(start), Some(end)) if start < end => {
            let updated = format!("{}{START}\n{table}{}", &text[..start], &text[end..]);
            fs::write(&doc, updated)?;
            eprintln!("updated {}", doc.display());
        }
        _ => eprintln!(
            "{} has no {START} … {END} markers; not updated",
            doc.display()
        ),
    }
    Ok(())
}
