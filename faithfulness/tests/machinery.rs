//! The benchmark's machinery: its cases are well formed and the same on
//! every build, the methods keep their budgets, and scoring a case gives
//! every method one result with scores in range. No benchmark figure is
//! asserted.

use multiscale_lime::ndarray::Axis;
use multiscale_lime::HideColor;
use multiscale_lime_faithfulness::cases::{cnn_cases, planted_cases, read_png, Group, KINDS};
use multiscale_lime_faithfulness::methods::{run_all, SINGLE_LEVELS};
use multiscale_lime_faithfulness::peers::OcclusionMemo;
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
    let outputs = run_all(&case, 0, &OcclusionMemo::default()).unwrap();
    // The grid and the single levels run at the default's calls.
    let slic_calls = outputs
        .iter()
        .find(|o| o.method == "default")
        .unwrap()
        .calls;
    for level in SINGLE_LEVELS {
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
    assert!(
        gap < 0.15,
        "grid {} vs the default's {slic_calls} calls",
        grid.calls
    );
    // Ours and the peers at the two budgets: the default's calls and the
    // paper's (`slic c=5`, 10 per superpixel).
    let calls = |name: &str| {
        outputs
            .iter()
            .find(|o| o.method == name)
            .unwrap_or_else(|| panic!("no method {name}"))
            .calls as f64
    };
    let budgets = [
        ("@default", calls("default")),
        ("@paper", calls("slic c=5+trapezoid")),
    ];
    assert!(budgets[1].1 > 1.5 * budgets[0].1, "{budgets:?}");
    assert_eq!(calls("feathered"), calls("default"));
    let ours = calls("default @paper");
    assert!(
        (ours / budgets[1].1 - 1.0).abs() < 0.2,
        "{ours} vs {budgets:?}"
    );
    // The finer levels spend at most the paper's budget, and more than the
    // default's.
    let fine = calls("default+400 @paper");
    assert_eq!(calls("feathered+400 @paper"), fine);
    assert!(
        fine > budgets[0].1 && fine <= budgets[1].1,
        "{fine} vs {budgets:?}"
    );
    for (label, budget) in budgets {
        for peer in ["rise", "kernelshap", "occlusion"] {
            let c = calls(&format!("{peer} {label}"));
            assert!(
                c <= budget && c >= 0.9 * budget,
                "{peer} {label}: {c} of {budget}"
            );
        }
    }

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
