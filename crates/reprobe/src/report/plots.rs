//! The report's figures, each written as SVG and PNG with `plotters` (font: DejaVu Sans, embedded, so no
//! system font is needed).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::compare::{format_p, Significance};
use super::{key_value, RunRecord};
use crate::sweep::summary::{Stat, Summary};

const SIZE: (u32, u32) = (960, 600);

/// Draws `$body` (an expression using `$root: &DrawingArea<_, Shift>`) once into `STEM.svg` and once into
/// `STEM.png`; evaluates to the two paths. A macro because the body is generic over the backend.
macro_rules! both {
    ($out:expr, $stem:expr, |$root:ident| $body:expr) => {{
        let svg = $out.join(format!("{}.svg", $stem));
        {
            let area = SVGBackend::new(&svg, SIZE).into_drawing_area();
            let $root = &area;
            $body?;
            area.present()
                .map_err(|e| anyhow!("cannot write {}: {e}", svg.display()))?;
        }
        let png = $out.join(format!("{}.png", $stem));
        {
            let area = BitMapBackend::new(&png, SIZE).into_drawing_area();
            let $root = &area;
            $body?;
            area.present()
                .map_err(|e| anyhow!("cannot write {}: {e}", png.display()))?;
        }
        vec![svg, png]
    }};
}

/// Draws every figure the data supports; returns the files written.
pub fn draw_all(
    runs: &[RunRecord],
    keys: &[String],
    summary: &Summary,
    metric: &str,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    register_font();
    let mut written = Vec::new();
    let groups = group_runs(runs, keys);

    let curves = learning_curves(&groups, metric);
    if curves.iter().any(|(_, c)| !c.is_empty()) {
        let title = if groups.iter().all(|(_, members)| members.len() == 1) {
            format!("{metric} per epoch")
        } else {
            format!("{metric} per epoch (mean ± std over seeds)")
        };
        written.extend(both!(out, "learning_curves", |root| draw_lines(
            root, &title, "epoch", metric, &curves, true
        )));
    }

    let bars: Vec<(String, Stat)> = summary
        .rows
        .iter()
        .filter_map(|r| {
            r.metrics
                .get(metric)
                .map(|s| (label(&r.setting), s.clone()))
        })
        .collect();
    if !bars.is_empty() {
        let title = format!("{metric} (mean ± std; n runs per bar)");
        written.extend(both!(out, "bars", |root| draw_bars(
            root, &title, metric, &bars
        )));
    }

    let attention = attention_weights(&groups);
    if !attention.is_empty() {
        written.extend(both!(out, "attention_weights", |root| draw_attention(
            root, &attention
        )));
    }

    if let Some(tkey) = keys.iter().find(|k| k.ends_with(".truncate")) {
        let lines = truncation_lines(summary, tkey, metric);
        if lines.iter().any(|(_, l)| l.len() > 1) {
            let title = format!("{metric} over the layers kept ({tkey})");
            written.extend(both!(out, "truncation", |root| draw_lines(
                root, &title, tkey, metric, &lines, false
            )));
        }
    }
    Ok(written)
}

/// The comparison with the baseline: per setting, the difference of its mean to the baseline's with the
/// bootstrap interval as error bar, and a line at 0 (the baseline). Written as `significance.{svg,png}`.
pub fn draw_significance(sig: &Significance, out: &Path) -> Result<Vec<PathBuf>> {
    register_font();
    let points: Vec<Difference> = sig
        .rows
        .iter()
        .filter_map(|row| {
            let delta = row.delta?;
            let p = row
                .welch
                .map(|w| format!(", p = {}", format_p(w.p)))
                .unwrap_or_default();
            let name = format!("{}{p}", label(&row.setting));
            Some((name, delta, row.bootstrap.map(|b| (b.low, b.high))))
        })
        .collect();
    if points.is_empty() {
        return Ok(vec![]);
    }
    let title = format!(
        "{} − baseline ({}): mean difference, 95 % paired-bootstrap CI",
        sig.metric,
        label(&sig.baseline_row().setting)
    );
    Ok(both!(out, "significance", |root| draw_differences(
        root,
        &title,
        &format!("Δ {}", sig.metric),
        &points
    )))
}

type Series = Vec<(f64, f64, f64)>; // (x, mean, std)
type Difference = (String, f64, Option<(f64, f64)>); // (setting, Δ, CI)

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is valid by construction (a crate constant); a failure would only lose text.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// Runs per setting, in first-appearance order.
fn group_runs<'a>(runs: &'a [RunRecord], keys: &[String]) -> Vec<(String, Vec<&'a RunRecord>)> {
    let mut out: Vec<(String, Vec<&RunRecord>)> = Vec::new();
    for run in runs {
        let setting: Vec<(String, String)> = keys
            .iter()
            .map(|k| (k.clone(), key_value(run, k)))
            .collect();
        let name = label(&setting);
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, members)) => members.push(run),
            None => out.push((name, vec![run])),
        }
    }
    out
}

/// A setting as `key=value, ...` with each key's last dotted component (`truncate=6`).
pub(crate) fn label(setting: &[(String, String)]) -> String {
    if setting.is_empty() {
        return "all runs".into();
    }
    setting
        .iter()
        .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mean_std(values: &[f64]) -> (f64, f64) {
    let s = Stat::of(values).expect("non-empty");
    (s.mean, s.std.unwrap_or(0.0))
}

/// Per setting: at each epoch, mean and std of `metric` over the runs that reached it.
fn learning_curves(groups: &[(String, Vec<&RunRecord>)], metric: &str) -> Vec<(String, Series)> {
    groups
        .iter()
        .map(|(name, runs)| {
            let mut by_epoch: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
            for run in runs {
                for (i, e) in run.epochs.iter().enumerate() {
                    if let Some(v) = e.get(metric) {
                        let epoch = e.get("epoch").map(|x| *x as i64).unwrap_or(i as i64 + 1);
                        by_epoch.entry(epoch).or_default().push(*v);
                    }
                }
            }
            let series = by_epoch
                .into_iter()
                .map(|(epoch, vs)| {
                    let (m, s) = mean_std(&vs);
                    (epoch as f64, m, s)
                })
                .collect();
            (name.clone(), series)
        })
        .collect()
}

/// Per setting, per encoder: the mean attention weight at each epoch (metrics `attention/<encoder>`).
fn attention_weights(groups: &[(String, Vec<&RunRecord>)]) -> Vec<(String, Vec<(String, Series)>)> {
    let mut out = Vec::new();
    for (name, runs) in groups {
        let mut per_encoder: BTreeMap<String, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
        for run in runs {
            for (i, e) in run.epochs.iter().enumerate() {
                let epoch = e.get("epoch").map(|x| *x as i64).unwrap_or(i as i64 + 1);
                for (k, v) in e {
                    if let Some(enc) = k.strip_prefix("attention/") {
                        per_encoder
                            .entry(enc.to_string())
                            .or_default()
                            .entry(epoch)
                            .or_default()
                            .push(*v);
                    }
                }
            }
        }
        if per_encoder.is_empty() {
            continue;
        }
        let lines = per_encoder
            .into_iter()
            .map(|(enc, by_epoch)| {
                let series = by_epoch
                    .into_iter()
                    .map(|(epoch, vs)| {
                        let (m, s) = mean_std(&vs);
                        (epoch as f64, m, s)
                    })
                    .collect();
                (enc, series)
            })
            .collect();
        out.push((name.clone(), lines));
    }
    out
}

/// One line per combination of the other grouping keys: x = layers kept, y = mean ± std of `metric`.
fn truncation_lines(summary: &Summary, tkey: &str, metric: &str) -> Vec<(String, Series)> {
    let mut lines: Vec<(String, Series)> = Vec::new();
    for row in &summary.rows {
        let Some(x) = row
            .setting
            .iter()
            .find(|(k, _)| k == tkey)
            .and_then(|(_, v)| v.parse::<f64>().ok())
        else {
            continue;
        };
        let Some(stat) = row.metrics.get(metric) else {
            continue;
        };
        let others: Vec<(String, String)> = row
            .setting
            .iter()
            .filter(|(k, _)| k != tkey)
            .cloned()
            .collect();
        let name = if others.is_empty() {
            tkey.to_string()
        } else {
            label(&others)
        };
        let point = (x, stat.mean, stat.std.unwrap_or(0.0));
        match lines.iter_mut().find(|(n, _)| *n == name) {
            Some((_, series)) => series.push(point),
            None => lines.push((name, vec![point])),
        }
    }
    for (_, series) in &mut lines {
        series.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    lines
}

/// Epochs and layer counts are integers: label whole ticks only.
fn integer_ticks(x: &f64) -> String {
    if x.fract().abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        String::new()
    }
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting failed: {e}")
}

fn bounds(series: &[(String, Series)], band: bool) -> ((f64, f64), (f64, f64)) {
    let pts = series.iter().flat_map(|(_, s)| s.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, m, s) in pts {
        let s = if band { s } else { s.max(0.0) };
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(m - s);
        y1 = y1.max(m + s);
    }
    if x0 == x1 {
        x0 -= 1.0;
        x1 += 1.0;
    } else if !band {
        // Points with error bars: keep the first and last off the frame.
        x0 -= 0.3;
        x1 += 0.3;
    }
    let pad = ((y1 - y0) * 0.08).max(1e-3);
    ((x0, x1), (y0 - pad, y1 + pad))
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    series: &[(String, Series)],
    band: bool,
) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let ((x0, x1), (y0, y1)) = bounds(series, band);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(xlabel)
        .y_desc(ylabel)
        .x_label_formatter(&integer_ticks)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (i, (name, s)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        if band {
            let upper = s.iter().map(|&(x, m, d)| (x, m + d));
            let lower = s.iter().rev().map(|&(x, m, d)| (x, m - d));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    upper.chain(lower).collect::<Vec<_>>(),
                    color.mix(0.18),
                )))
                .map_err(err)?;
        } else {
            chart
                .draw_series(s.iter().map(|&(x, m, d)| {
                    ErrorBar::new_vertical(x, m - d, m, m + d, color.stroke_width(1), 8)
                }))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                s.iter().map(|&(x, m, _)| (x, m)),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
            });
        chart
            .draw_series(
                s.iter()
                    .map(|&(x, m, _)| Circle::new((x, m), 3, color.filled())),
            )
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    metric: &str,
    bars: &[(String, Stat)],
) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let hi = bars
        .iter()
        .map(|(_, s)| s.mean + s.std.unwrap_or(0.0))
        .fold(f64::NEG_INFINITY, f64::max);
    let lo = bars
        .iter()
        .map(|(_, s)| s.mean - s.std.unwrap_or(0.0))
        .fold(f64::INFINITY, f64::min);
    let y0 = (lo - (hi - lo).max(0.01) * 0.5).max(0.0).min(lo);
    let y1 = hi + (hi - lo).max(0.01) * 0.2;
    let n = bars.len();
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(65)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(metric)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (i, (name, s)) in bars.iter().enumerate() {
        let x = i as f64;
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x - 0.35, y0), (x + 0.35, s.mean)],
                color.mix(0.8).filled(),
            )))
            .map_err(err)?
            .label(format!("{name} (n={})", s.n))
            .legend(move |(lx, ly)| {
                Rectangle::new([(lx, ly - 6), (lx + 14, ly + 6)], color.filled())
            });
        if let Some(d) = s.std {
            chart
                .draw_series(std::iter::once(ErrorBar::new_vertical(
                    x,
                    s.mean - d,
                    s.mean,
                    s.mean + d,
                    BLACK.stroke_width(2),
                    14,
                )))
                .map_err(err)?;
        }
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{:.4}", s.mean),
                (x + 0.05, s.mean), // right of the error bar, not over its marker
                ("sans-serif", 13),
            )))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    Ok(())
}

fn draw_differences<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    ylabel: &str,
    points: &[Difference],
) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let (mut lo, mut hi) = (0f64, 0f64);
    for (_, d, ci) in points {
        let (l, h) = ci.unwrap_or((*d, *d));
        lo = lo.min(l.min(*d));
        hi = hi.max(h.max(*d));
    }
    let pad = ((hi - lo) * 0.15).max(1e-3);
    let n = points.len();
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(75)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(ylabel)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(-0.5, 0.0), (n as f64 - 0.5, 0.0)],
            BLACK.mix(0.6).stroke_width(1),
        )))
        .map_err(err)?;
    for (i, (name, delta, ci)) in points.iter().enumerate() {
        let x = i as f64;
        let color = Palette99::pick(i + 1).to_rgba();
        if let Some((l, h)) = ci {
            chart
                .draw_series(std::iter::once(ErrorBar::new_vertical(
                    x,
                    *l,
                    *delta,
                    *h,
                    color.stroke_width(2),
                    16,
                )))
                .map_err(err)?;
        }
        chart
            .draw_series(std::iter::once(Circle::new((x, *delta), 5, color.filled())))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(lx, ly)| Circle::new((lx + 7, ly), 5, color.filled()));
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{delta:+.4}"),
                (x + 0.06, *delta),
                ("sans-serif", 13),
            )))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    Ok(())
}

fn draw_attention<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[(String, Vec<(String, Series)>)],
) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let cols = (panels.len() as f64).sqrt().ceil() as usize;
    let rows = panels.len().div_ceil(cols);
    let areas = root.split_evenly((rows, cols));
    for ((name, lines), area) in panels.iter().zip(areas.iter()) {
        let (x, _) = bounds(lines, false);
        let mut chart = ChartBuilder::on(area)
            .caption(format!("attention weights: {name}"), ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(x.0..x.1, 0f64..1f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("mean weight")
            .x_label_formatter(&integer_ticks)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        for (i, (enc, s)) in lines.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    s.iter().map(|&(x, m, _)| (x, m)),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(enc.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight) // weights of 2+ encoders rarely get near 1
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{
        grouping_keys, load_runs, summary_of, tests::fake_sweep, write_report, ReportOptions,
    };

    #[test]
    fn every_plot_is_written_as_svg_and_png() {
        let root = tempfile::tempdir().unwrap();
        let dir = fake_sweep(root.path());
        let (runs, swept) = load_runs(std::slice::from_ref(&dir)).unwrap();
        let keys = grouping_keys(&[], &swept);
        let out = root.path().join("report");
        let files = write_report(&runs, &keys, &ReportOptions::plots_of("val/f1"), &out)
            .unwrap()
            .files;
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for stem in ["learning_curves", "bars", "attention_weights", "truncation"] {
            for ext in ["svg", "png"] {
                let name = format!("{stem}.{ext}");
                assert!(names.contains(&name), "{name} missing from {names:?}");
                let len = std::fs::metadata(out.join(&name)).unwrap().len();
                assert!(len > 1000, "{name} is only {len} bytes");
            }
        }
        let svg = std::fs::read_to_string(out.join("truncation.svg")).unwrap();
        assert!(svg.contains("encoders.mrpc.truncate"), "axis label missing");
        let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
        assert!(md.contains("| 6 | 3 | 0.5640 ± 0.0020 |"), "{md}");
        assert_eq!(summary_of(&runs, &keys).rows.len(), 2);
    }
}
