//! Validation speed: writes 10 000- and 100 000-row CSV manifests of URL pins to a temporary
//! folder and times `pinbatch::manifest::load` on each.
//!
//! Run with `cargo run --release --example validate_bench`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

fn write_manifest(path: &Path, rows: usize) -> std::io::Result<()> {
    let mut text = String::with_capacity(rows * 200);
    text.push_str(
        "id,board,section,title,description,link,alt_text,dominant_color,publish_at,image\n",
    );
    for i in 0..rows {
        let _ = writeln!(
            text,
            "pin-{i},Animals 動物,Cats,Cat number {i},A calm cat; picture {i} of the series,\
             https://example.com/cats/{i},A cat,#aabbcc,2026-12-24T09:00:00Z,\
             https://example.com/images/{i}.jpg"
        );
    }
    std::fs::write(path, text)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    for rows in [10_000usize, 100_000] {
        let path = dir.path().join(format!("pins-{rows}.csv"));
        write_manifest(&path, rows)?;
        let size = std::fs::metadata(&path)?.len();
        let started = Instant::now();
        let outcome = pinbatch::manifest::load(&path);
        let elapsed = started.elapsed();
        let pins = outcome.manifest.as_ref().map_or(0, |m| m.pins.len());
        if pins != rows {
            return Err(format!(
                "expected {rows} valid pins, got {pins}: {:?}",
                outcome.diagnostics.first()
            )
            .into());
        }
        println!(
            "{rows:>7} rows ({:.1} MB): {:>8.1} ms, {:>10.0} rows/s",
            size as f64 / 1e6,
            elapsed.as_secs_f64() * 1e3,
            rows as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}
