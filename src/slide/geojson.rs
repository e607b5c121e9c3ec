//! QuPath's GeoJSON: tiles with their class probabilities as
//! measurements, and an explained tile's superpixels as detections with
//! their relevance, standard error and level, in level-0 coordinates so
//! that QuPath draws them in place (*File › Import objects*; *Measure ›
//! Show measurement maps* colours them).

use std::collections::HashMap;
use std::fmt::Write;

use ndarray::Array2;

use super::tiles::SlideTile;
use crate::heatmap::HeatmapStack;

/// A string as a JSON literal.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number as JSON (non-finite values, which JSON lacks, as `null`).
fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

/// One GeoJSON feature: polygons of rings (level-0 coordinates; one
/// polygon is a `Polygon`, more a `MultiPolygon`), a QuPath object type, a
/// name and measurements.
fn feature(
    polygons: &[Vec<Vec<(f64, f64)>>],
    object_type: &str,
    name: &str,
    measurements: &[(String, f64)],
) -> String {
    let polygon = |rings: &Vec<Vec<(f64, f64)>>| {
        let rings: Vec<String> = rings
            .iter()
            .map(|ring| {
                let points: Vec<String> = ring
                    .iter()
                    .map(|(x, y)| format!("[{},{}]", number(*x), number(*y)))
                    .collect();
                format!("[{}]", points.join(","))
            })
            .collect();
        format!("[{}]", rings.join(","))
    };
    let geometry = match polygons {
        [one] => format!("{{\"type\":\"Polygon\",\"coordinates\":{}}}", polygon(one)),
        many => {
            let all: Vec<String> = many.iter().map(polygon).collect();
            format!(
                "{{\"type\":\"MultiPolygon\",\"coordinates\":[{}]}}",
                all.join(",")
            )
        }
    };
    let measurements: Vec<String> = measurements
        .iter()
        .map(|(k, v)| format!("{}:{}", quote(k), number(*v)))
        .collect();
    let properties = format!(
        "{{\"objectType\":{},\"name\":{},\"isLocked\":true,\"measurements\":{{{}}}}}",
        quote(object_type),
        quote(name),
        measurements.join(",")
    );
    format!("{{\"type\":\"Feature\",\"geometry\":{geometry},\"properties\":{properties}}}")
}

/// Features as a FeatureCollection.
pub fn feature_collection(features: &[String]) -> String {
    format!(
        "{{\"type\":\"FeatureCollection\",\"features\":[\n{}\n]}}\n",
        features.join(",\n")
    )
}

/// A `tile` object per tile, its square in level-0 coordinates shifted by
/// `offset` (OpenSlide's bounds, where a slide has them; else `(0, 0)`),
/// with `P(name)` for each class as measurements.
pub fn tile_features(
    tiles: &[SlideTile],
    scores: &Array2<f32>,
    class_names: &[String],
    offset: (f64, f64),
) -> Vec<String> {
    tiles
        .iter()
        .zip(scores.rows())
        .map(|(t, row)| {
            let (x0, y0) = (t.x as f64 - offset.0, t.y as f64 - offset.1);
            let (x1, y1) = (x0 + t.width as f64, y0 + t.height as f64);
            let ring = vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)];
            let mut m: Vec<(String, f64)> = row
                .iter()
                .enumerate()
                .map(|(c, &p)| {
                    let name = class_names
                        .get(c)
                        .cloned()
                        .unwrap_or_else(|| format!("class {c}"));
                    (format!("P({name})"), f64::from(p))
                })
                .collect();
            m.push(("tissue".into(), t.tissue));
            feature(
                &[vec![ring]],
                "tile",
                &format!("tile {} {}", t.grid.0, t.grid.1),
                &m,
            )
        })
        .collect()
}

/// A `detection` per superpixel of every level of an explained tile: its
/// outline in level-0 coordinates (shifted by `offset`), with the level,
/// the superpixel's coefficient, its standard error (when computed) and
/// its relevance (the level's normalised heatmap value).
pub fn superpixel_features(
    tile: &SlideTile,
    stack: &HeatmapStack,
    offset: (f64, f64),
) -> Vec<String> {
    let mut out = Vec::new();
    for (l, level) in stack.levels().iter().enumerate() {
        let labels = level.segmentation.labels();
        let (h, w) = labels.dim();
        let (sx, sy) = (tile.width as f64 / w as f64, tile.height as f64 / h as f64);
        let (ox, oy) = (tile.x as f64 - offset.0, tile.y as f64 - offset.1);
        let heat = level.heatmap.values();
        // A superpixel's heatmap value is the same at each of its pixels.
        let mut relevance = vec![f32::NAN; level.actual];
        for ((y, x), &s) in labels.indexed_iter() {
            if let Some(r) = relevance.get_mut(s as usize).filter(|r| r.is_nan()) {
                *r = heat[[y, x]];
            }
        }
        let scale = |r: Vec<(u32, u32)>| -> Vec<(f64, f64)> {
            r.into_iter()
                .map(|(x, y)| (ox + f64::from(x) * sx, oy + f64::from(y) * sy))
                .collect()
        };
        for (s, pieces) in outlines(labels) {
            let polygons: Vec<Vec<Vec<(f64, f64)>>> = pieces
                .into_iter()
                .map(|rings| rings.into_iter().map(scale).collect())
                .collect();
            let i = s as usize;
            let mut m = vec![
                ("level".to_string(), (l + 1) as f64),
                ("superpixels".to_string(), level.actual as f64),
                (
                    "relevance".to_string(),
                    f64::from(relevance.get(i).copied().unwrap_or(f32::NAN)),
                ),
                (
                    "coefficient".to_string(),
                    level.coefficients.get(i).copied().unwrap_or(f64::NAN),
                ),
            ];
            if let Some(se) = &level.std_errors {
                m.push((
                    "std error".to_string(),
                    se.get(i).copied().unwrap_or(f64::NAN),
                ));
            }
            let name = format!("level {} superpixel {s}", l + 1);
            out.push(feature(&polygons, "detection", &name, &m));
        }
    }
    out
}

/// Directed boundary edges: from a corner to the corners they lead to.
type Edges = HashMap<(u32, u32), Vec<(u32, u32)>>;

/// A polygon: closed rings of pixel-corner coordinates `(x, y)`, the
/// exterior first, then its holes.
pub type Polygon = Vec<Vec<(u32, u32)>>;

/// Each label's outline, in label order: a polygon per connected piece
/// (one for a superpixel, which SLIC keeps connected), each its exterior
/// then its holes. Collinear corners are dropped.
pub fn outlines(labels: &Array2<u32>) -> Vec<(u32, Vec<Polygon>)> {
    let (h, w) = labels.dim();
    // Directed boundary edges per label, the label on the edge's left as
    // one walks it (y down): around a pixel, (x,y)→(x,y+1)→(x+1,y+1)→(x+1,y).
    let mut edges: HashMap<u32, Edges> = HashMap::new();
    let at = |x: i64, y: i64| -> Option<u32> {
        (x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h)
            .then(|| labels[[y as usize, x as usize]])
    };
    for ((y, x), &s) in labels.indexed_iter() {
        let (xi, yi) = (x as i64, y as i64);
        let (x, y) = (x as u32, y as u32);
        let map = edges.entry(s).or_default();
        let mut add = |a: (u32, u32), b: (u32, u32)| map.entry(a).or_default().push(b);
        if at(xi - 1, yi) != Some(s) {
            add((x, y), (x, y + 1));
        }
        if at(xi, yi + 1) != Some(s) {
            add((x, y + 1), (x + 1, y + 1));
        }
        if at(xi + 1, yi) != Some(s) {
            add((x + 1, y + 1), (x + 1, y));
        }
        if at(xi, yi - 1) != Some(s) {
            add((x + 1, y), (x, y));
        }
    }
    let mut out: Vec<(u32, Vec<Polygon>)> = edges
        .into_iter()
        .map(|(s, mut map)| (s, polygons(chain(&mut map))))
        .collect();
    out.sort_by_key(|(s, _)| *s);
    out
}

/// Chains directed edges into closed rings. At a corner where two pieces
/// of one label touch, the walk turns towards the label, so each piece
/// gets its own ring; a piece that touches itself at a corner (around a
/// notch) gets one ring through that corner twice, which QuPath reads.
fn chain(map: &mut Edges) -> Vec<Vec<(u32, u32)>> {
    let mut rings = Vec::new();
    let mut starts: Vec<(u32, u32)> = map.keys().copied().collect();
    starts.sort_unstable();
    for start in starts {
        while map.get(&start).is_some_and(|v| !v.is_empty()) {
            let mut ring = vec![start];
            let mut previous = start;
            let mut current = take(map, start, None);
            while current != start {
                ring.push(current);
                let incoming = (
                    i64::from(current.0) - i64::from(previous.0),
                    i64::from(current.1) - i64::from(previous.1),
                );
                previous = current;
                current = take(map, current, Some(incoming));
            }
            ring.push(start);
            rings.push(simplify(ring));
        }
    }
    // Exterior first: the ring of largest area.
    rings.sort_by(|a, b| area(b).abs().total_cmp(&area(a).abs()));
    rings
}

/// Removes and returns an edge leaving `from`: at a corner with two, the
/// one turning towards the label (on the walk's left).
fn take(map: &mut Edges, from: (u32, u32), incoming: Option<(i64, i64)>) -> (u32, u32) {
    let options = map
        .get_mut(&from)
        .expect("every boundary vertex has a way on");
    let pick = match (options.len(), incoming) {
        (n, Some((dx, dy))) if n > 1 => {
            let turn = |to: &(u32, u32)| {
                let (ex, ey) = (
                    i64::from(to.0) - i64::from(from.0),
                    i64::from(to.1) - i64::from(from.1),
                );
                // Cross product (y down): negative turns left on screen,
                // towards the label, which keeps pieces that touch at a
                // corner apart.
                dx * ey - dy * ex
            };
            (0..n).min_by_key(|&i| turn(&options[i])).unwrap_or(0)
        }
        _ => 0,
    };
    options.swap_remove(pick)
}

/// Rings as polygons: walked with the label on the left, an exterior has a
/// negative shoelace sum (y down) and a hole a positive one; each hole
/// goes to the smallest exterior around it.
fn polygons(rings: Vec<Vec<(u32, u32)>>) -> Vec<Polygon> {
    let (exteriors, holes): (Vec<_>, Vec<_>) = rings.into_iter().partition(|r| area(r) < 0.0);
    let mut out: Vec<Polygon> = exteriors.into_iter().map(|r| vec![r]).collect();
    // Smallest exteriors first, so a hole finds its innermost container.
    out.sort_by(|a, b| area(&a[0]).abs().total_cmp(&area(&b[0]).abs()));
    for hole in holes {
        // The midpoint of a hole's first edge lies inside its exterior
        // (edges of distinct rings never overlap).
        let (a, b) = (hole[0], hole[1]);
        let probe = (
            (f64::from(a.0) + f64::from(b.0)) / 2.0,
            (f64::from(a.1) + f64::from(b.1)) / 2.0,
        );
        if let Some(p) = out.iter_mut().find(|p| contains(&p[0], probe)) {
            p.push(hole);
        }
    }
    out
}

/// Whether `point` lies inside `ring` (even-odd rule).
fn contains(ring: &[(u32, u32)], point: (f64, f64)) -> bool {
    let mut inside = false;
    for e in ring.windows(2) {
        let ((x0, y0), (x1, y1)) = (
            (f64::from(e[0].0), f64::from(e[0].1)),
            (f64::from(e[1].0), f64::from(e[1].1)),
        );
        if (y0 > point.1) != (y1 > point.1) && point.0 < x0 + (point.1 - y0) / (y1 - y0) * (x1 - x0)
        {
            inside = !inside;
        }
    }
    inside
}

/// Drops corners where the ring goes straight on.
fn simplify(ring: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    let n = ring.len() - 1; // closed: the last point repeats the first
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(n + 1);
    for i in 0..n {
        let (a, b, c) = (ring[(i + n - 1) % n], ring[i], ring[(i + 1) % n]);
        let cross = (i64::from(b.0) - i64::from(a.0)) * (i64::from(c.1) - i64::from(b.1))
            - (i64::from(b.1) - i64::from(a.1)) * (i64::from(c.0) - i64::from(b.0));
        if cross != 0 {
            out.push(b);
        }
    }
    if let Some(&first) = out.first() {
        out.push(first);
    }
    out
}

/// Twice the signed area of a closed ring (shoelace).
fn area(ring: &[(u32, u32)]) -> f64 {
    ring.windows(2)
        .map(|p| f64::from(p[0].0) * f64::from(p[1].1) - f64::from(p[1].0) * f64::from(p[0].1))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Pixels inside a polygon with holes (pixel centres, even-odd rule).
    fn rasterise(rings: &[Vec<(u32, u32)>], h: usize, w: usize) -> Array2<bool> {
        Array2::from_shape_fn((h, w), |(y, x)| {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let mut inside = false;
            for ring in rings {
                for e in ring.windows(2) {
                    let ((x0, y0), (x1, y1)) = (
                        (f64::from(e[0].0), f64::from(e[0].1)),
                        (f64::from(e[1].0), f64::from(e[1].1)),
                    );
                    if (y0 > py) != (y1 > py) && px < x0 + (py - y0) / (y1 - y0) * (x1 - x0) {
                        inside = !inside;
                    }
                }
            }
            inside
        })
    }

    #[test]
    fn outlines_rasterise_back_to_their_labels() {
        // A ring with a hole, an L, a diagonal pinch, an island.
        let labels = array![
            [0, 0, 0, 0, 1, 1],
            [0, 2, 2, 0, 1, 3],
            [0, 2, 2, 0, 3, 1],
            [0, 0, 0, 0, 1, 1],
            [4, 4, 4, 0, 1, 1],
        ];
        let (h, w) = labels.dim();
        for (s, polygons) in outlines(&labels) {
            let rings: Vec<Vec<(u32, u32)>> = polygons.concat();
            for ring in &rings {
                assert_eq!(ring.first(), ring.last(), "label {s}: ring not closed");
            }
            let got = rasterise(&rings, h, w);
            let want = labels.mapv(|l| l == s);
            assert_eq!(got, want, "label {s}: {rings:?}");
        }
        // The square label 2: one ring of four corners (simplified).
        let find = |label| {
            outlines(&labels)
                .into_iter()
                .find(|(s, _)| *s == label)
                .unwrap()
                .1
        };
        let two = find(2);
        assert_eq!((two.len(), two[0].len(), two[0][0].len()), (1, 1, 5));
        // Label 0 surrounds label 2: one polygon, an exterior and a hole.
        let zero = find(0);
        assert_eq!((zero.len(), zero[0].len()), (1, 2));
        // Label 3 is two pieces touching at a corner: two polygons.
        assert_eq!(find(3).len(), 2);
    }

    #[test]
    fn random_label_maps_outline_exactly() {
        let mut state = 99u64;
        for case in 0..300 {
            let (h, w) = (1 + case % 7, 1 + (case / 7) % 8);
            let labels = Array2::from_shape_fn((h, w), |_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) % 4) as u32
            });
            for (s, polygons) in outlines(&labels) {
                for polygon in &polygons {
                    // No corner visited more than twice (twice only where
                    // the piece touches itself at a corner around a notch).
                    for ring in polygon {
                        let mut seen = HashMap::new();
                        for c in &ring[1..] {
                            *seen.entry(c).or_insert(0) += 1;
                        }
                        assert!(seen.values().all(|&n| n <= 2), "case {case}: {ring:?}");
                    }
                    // Each polygon: an exterior, holes inside it.
                    assert!(area(&polygon[0]) < 0.0);
                    assert!(polygon[1..].iter().all(|r| area(r) > 0.0));
                }
                let got = rasterise(&polygons.concat(), h, w);
                assert_eq!(
                    got,
                    labels.mapv(|l| l == s),
                    "case {case} label {s}: {labels:?}"
                );
            }
        }
    }

    #[test]
    fn json_text_is_escaped_and_numbers_are_finite() {
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
        assert_eq!(number(f64::NAN), "null");
        assert_eq!(number(0.5), "0.5");
    }
}
