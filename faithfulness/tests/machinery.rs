//! The benchmark's machinery: its cases are well formed and the same on
//! every build, the methods keep their budgets, and scoring a case gives
//! every method one result with scores in range. No benchmark figure is
//! asserted.

use multiscale_lime::ndarray::Axis;
use multiscale_lime::HideColor;
use multiscale_lime_faithfulness::cases::{cnn_cases, planted_cases, read_png, Group, KINDS};
use multiscale_lime_faithfulness::methods::{run_all, LEVELS};
use multiscale_lime_faithfulness::{evaluate, report};
use multiscale_lime_testkit::repo_root;

fn images() -> (multiscale_lime::Image, multiscale_lime::Image) {
    (
        read_png(&repo_root().join("assets/ihc.png")).unwrap(),
        read_png(&repo_root().join("faithfulness/data/he_crop.png")).unwrap(),
    )
}

#[test]
fn planted_cases_are_well_formed_and_reproducible() {
    let (ihc, he) = images();
    let cases = planted_cases(&ihc, &he).unwrap();
    assert_eq!(cases.len(), 36);
    for kind in KINDS {
        let n = cases
            .iter()
            .filter(|c| c.name.ends_with(kind.name()))
            .count();
        assert_eq!(n, 6, "{}", kind.name());
    }
    for case in &cases {
        let inside = case.truth.iter().filter(|&&t| t).count();
        assert!(
            inside > 0 && inside < case.truth.len() / 2,
            "{}: {inside} truth pixels",
            case.name
        );
        assert_eq!(case.group, Group::Planted);
        // The model sees its evidence: hiding the truth lowers the score
        // (white over it; for texture, whose evidence a white patch would
        // create at its edges, the image's flat mean colour everywhere).
        let full = case
            .model
            .predict(case.image.view().insert_axis(Axis(0)))
            .unwrap();
        let mut hidden = case.image.clone().into_array();
        match case.hide {
            HideColor::Constant(colour) => {
                for ((y, x), &t) in case.truth.indexed_iter() {
                    if t {
                        for c in 0..3 {
                            hidden[[y, x, c]] = colour[c];
                        }
                    }
                }
            }
            _ => {
                for c in 0..3 {
                    let mean = hidden.index_axis(Axis(2), c).mean().unwrap();
                    hidden.index_axis_mut(Axis(2), c).fill(mean);
                }
            }
        }
        let without = case
            .model
            .predict(hidden.view().insert_axis(Axis(0)))
            .unwrap();
        assert!(without[[0, 1]] < full[[0, 1]], "{}", case.name);
    }
    let again = planted_cases(&ihc, &he).unwrap();
    for (a, b) in cases.iter().zip(&again) {
        assert_eq!((&a.name, &a.truth), (&b.name, &b.truth));
    }
}

#[test]
fn cnn_cases_come_from_the_held_out_columns() {
    let (ihc, _) = images();
    let model: multiscale_lime_faithfulness::cases::Model =
        std::sync::Arc::new(multiscale_lime_testkit::mean_red_classifier());
    let cases = cnn_cases(&ihc, model);
    assert!(cases.len() >= 20, "{} CNN cases", cases.len());
    for case in &cases {
        let x: usize = case.name.rsplit("-x").next().unwrap().parse().unwrap();
        assert!((192..=224).contains(&x), "{}", case.name);
        assert!(case.truth.iter().any(|&t| t));
    }
}

#[test]
fn every_method_is_scored_once_within_its_budget() {
    let (ihc, he) = images();
    let case = planted_cases(&ihc, &he).unwrap().swap_remove(2);
    let outputs = run_all(&case, 0).unwrap();
    let slic_calls = outputs
        .iter()
        .find(|o| o.method == "slic c=20+trapezoid")
        .unwrap()
        .calls;
    for level in LEVELS {
        let single = outputs
            .iter()
            .find(|o| o.method == format!("slic c=20 s={level}"))
            .unwrap();
        assert_eq!(single.calls, slic_calls);
    }
    let grid = outputs
        .iter()
        .find(|o| o.method == "grid+trapezoid")
        .unwrap();
    let gap = (grid.calls as f64 - slic_calls as f64).abs() / slic_calls as f64;
    assert!(gap < 0.15, "grid {} vs SLIC {slic_calls} calls", grid.calls);

    let results = evaluate(&case, &[0, 1]).unwrap();
    assert_eq!(results.len(), outputs.len());
    for r in &results {
        for (name, &v) in report::METRICS.iter().zip(&r.metrics) {
            let range = if *name == "stability" {
                -1.0..=1.0
            } else {
                0.0..=1.0
            };
            assert!(range.contains(&v), "{} {name} = {v}", r.method);
        }
    }
    let summaries = report::summarise(&results);
    assert_eq!(summaries.len(), outputs.len());
    assert!(report::table(&summaries).lines().count() == outputs.len() + 2);
}
