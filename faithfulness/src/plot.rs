//! The table's figure: per half, each main method a point, median pixel AUC
//! against median stability, as a self-contained SVG (no plotting crate:
//! a scatter of a few dozen labelled points is a few lines of markup).

use std::fmt::Write;

use crate::cases::Group;
use crate::report::Summary;

/// Plot size in pixels, and the margins around the axes.
const WIDTH: f64 = 820.0;
const HEIGHT: f64 = 600.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 250.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

/// A method's name without its budget or its finer levels: `default` for
/// `default+400 @paper`, `grid+density` for itself.
fn base(method: &str) -> &str {
    let first = method.split(' ').next().unwrap_or(method);
    first.strip_suffix("+400").unwrap_or(first)
}

/// Which family a method belongs to, for its colour: ours, the paper's
/// setting and its variants, the grid, single levels, the peers.
fn family(method: &str) -> (&'static str, &'static str) {
    let base = base(method);
    match base {
        "default" | "feathered" => ("#d62728", "multi-scale LIME (this crate)"),
        "rise" => ("#1f77b4", "RISE"),
        "kernelshap" => ("#2ca02c", "KernelSHAP"),
        "occlusion" => ("#9467bd", "occlusion"),
        "lime" => ("#8c564b", "lime default"),
        "grid+density" => ("#7f7f7f", "square grid, density"),
        "slic" if method.contains("c=5") => ("#ff7f0e", "the paper's setting"),
        _ => ("#bcbd22", "SLIC c=20, density, 10/superpixel"),
    }
}

/// The methods the figure shows (the table has them all): ours and the
/// peers at both budgets, the paper's setting, the best other SLIC and
/// grid rows, `lime`'s default.
fn plotted(method: &str) -> bool {
    let base = base(method);
    matches!(
        base,
        "default" | "feathered" | "rise" | "kernelshap" | "occlusion" | "lime"
    ) || matches!(
        method,
        "slic c=5+trapezoid" | "slic c=20+density" | "grid+density"
    )
}

/// `value` between `lo` and `hi` mapped onto `[a, b]`.
fn scale(value: f64, (lo, hi): (f64, f64), (a, b): (f64, f64)) -> f64 {
    a + (value - lo) / (hi - lo).max(1e-12) * (b - a)
}

/// The largest gap to 1 the axes tell apart: 0.9999 and above plot alike.
const FLOOR: f64 = 1e-4;

/// A score in `[0, 1]` on the "nines" scale, `-log10(1 - v)`: 0.9 → 1,
/// 0.99 → 2, so that the methods crowded near 1 spread out.
fn nines(v: f64) -> f64 {
    -(1.0 - v.clamp(0.0, 1.0)).max(FLOOR).log10()
}

/// The tick values offered on both axes.
const TICKS: [f64; 12] = [
    0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999,
];

/// The smallest and largest of `values` on the nines scale, padded by 5 %
/// of their range.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .map(nines)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(0.05);
    (lo - pad, hi + pad)
}

/// The SVG of `group`'s methods: x the median stability, y the median
/// pixel AUC, both on the nines scale; a labelled point per method (and
/// budget), a legend of the families.
pub fn scatter_svg(summaries: &[Summary], group: Group) -> String {
    let rows: Vec<&Summary> = summaries
        .iter()
        .filter(|s| s.group == group && plotted(&s.method))
        .collect();
    let xs = range(rows.iter().map(|s| s.metrics[5].median));
    let ys = range(rows.iter().map(|s| s.metrics[0].median));
    let (x0, x1) = (LEFT, WIDTH - RIGHT);
    let (y0, y1) = (HEIGHT - BOTTOM, TOP);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="white"/><text x="{LEFT}" y="22" font-size="14">{}: median pixel AUC against median stability (up and right is better)</text>"##,
        group.name()
    );
    let _ = writeln!(
        svg,
        r##"<rect x="{x0}" y="{y1}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
        x1 - x0,
        y0 - y1
    );
    // Ticks at least 36 px apart (the nines crowd on a wide range).
    let (mut last_x, mut last_y) = (f64::NEG_INFINITY, f64::INFINITY);
    for t in TICKS {
        let v = nines(t);
        let px = scale(v, xs, (x0, x1));
        if (xs.0..=xs.1).contains(&v) && px - last_x >= 36.0 {
            last_x = px;
            let _ = writeln!(
                svg,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{y1}" y2="{y0}" stroke="#eee"/><text x="{px:.1}" y="{}" text-anchor="middle">{t}</text>"##,
                y0 + 16.0
            );
        }
        let py = scale(v, ys, (y0, y1));
        if (ys.0..=ys.1).contains(&v) && last_y - py >= 20.0 {
            last_y = py;
            let _ = writeln!(
                svg,
                r##"<line x1="{x0}" x2="{x1}" y1="{py:.1}" y2="{py:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{t}</text>"##,
                x0 - 6.0,
                py + 4.0
            );
        }
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">stability (Pearson between seeds; scale -log10(1 - x))</text><text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">pixel AUC (scale -log10(1 - y))</text>"#,
        (x0 + x1) / 2.0,
        HEIGHT - 18.0,
        (y0 + y1) / 2.0
    );
    // Points first, then their labels, top to bottom, each at least a line
    // below the last label it would overlap (a thin line to its point when
    // moved); labels of points on the right half sit to their left.
    let mut points: Vec<(f64, f64, &Summary)> = rows
        .iter()
        .map(|s| {
            let px = scale(nines(s.metrics[5].median), xs, (x0, x1));
            let py = scale(nines(s.metrics[0].median), ys, (y0, y1));
            (px, py, *s)
        })
        .collect();
    points.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut placed: Vec<(bool, f64)> = Vec::new();
    for &(px, py, s) in &points {
        let (colour, _) = family(&s.method);
        let shape = if s.method.contains("@paper") {
            format!(
                r#"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{colour}"/>"#,
                px - 4.0,
                py - 4.0
            )
        } else {
            format!(r#"<circle cx="{px:.1}" cy="{py:.1}" r="4" fill="{colour}"/>"#)
        };
        let left = px > (x0 + x1) / 2.0;
        let mut ly = py + 3.0;
        for &(side, y) in &placed {
            if side == left && ly < y + 11.0 {
                ly = y + 11.0;
            }
        }
        placed.push((left, ly));
        let (lx, anchor) = if left {
            (px - 14.0, "end")
        } else {
            (px + 14.0, "start")
        };
        let leader = if (ly - 3.0 - py).abs() > 2.0 {
            format!(
                r#"<line x1="{px:.1}" y1="{py:.1}" x2="{lx:.1}" y2="{:.1}" stroke="{colour}" stroke-width="0.5"/>"#,
                ly - 3.0
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            svg,
            r#"{shape}{leader}<text x="{lx:.1}" y="{ly:.1}" font-size="9" text-anchor="{anchor}" fill="{colour}">{}</text>"#,
            s.method
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for s in &rows {
        let (colour, name) = family(&s.method);
        if seen.contains(&name) {
            continue;
        }
        let y = TOP + 16.0 * seen.len() as f64 + 8.0;
        seen.push(name);
        let _ = writeln!(
            svg,
            r#"<circle cx="{:.1}" cy="{y:.1}" r="4" fill="{colour}"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
            x1 + 16.0,
            x1 + 26.0,
            y + 4.0
        );
    }
    let y = TOP + 16.0 * seen.len() as f64 + 8.0;
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}">● default budget, ■ paper's budget</text>"#,
        x1 + 10.0,
        y + 4.0
    );
    svg.push_str("</svg>\n");
    svg
}
