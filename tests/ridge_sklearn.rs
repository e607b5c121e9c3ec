//! `Ridge` against scikit-learn's `Ridge(alpha).fit(z, y, sample_weight=w)`;
//! the figures in `tests/data/ridge_sklearn.txt` come from
//! `tools/make_ridge_fixture.py`.

use approx::assert_relative_eq;
use multiscale_lime::{Ridge, SurrogateFitter};
use ndarray::{Array1, Array2};

fn values(line: &str, key: &str) -> Vec<f64> {
    let rest = line
        .strip_prefix(key)
        .unwrap_or_else(|| panic!("expected `{key}`, got {line:.40}"));
    rest.split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

#[test]
fn ridge_matches_scikit_learn() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ridge_sklearn.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() % 7, 0);
    let mut problems = 0;
    for chunk in lines.chunks(7) {
        let head: Vec<&str> = chunk[0].split_whitespace().collect();
        let (n, k): (usize, usize) = (head[1].parse().unwrap(), head[2].parse().unwrap());
        let alpha: f64 = head[3].parse().unwrap();
        let fit_intercept = head[4] == "1";
        let z = Array2::from_shape_vec(
            (n, k),
            values(chunk[1], "z ").iter().map(|&v| v as f32).collect(),
        )
        .unwrap();
        let y = Array1::from(values(chunk[2], "y "));
        let w = Array1::from(values(chunk[3], "w "));
        let coef = values(chunk[4], "coef ");
        let intercept = values(chunk[5], "intercept ")[0];
        let score = values(chunk[6], "score ")[0];

        let ridge = Ridge::new(alpha).unwrap().fit_intercept(fit_intercept);
        let fit = ridge.fit(z.view(), y.view(), w.view()).unwrap();
        for (got, want) in fit.coefficients.iter().zip(&coef) {
            assert_relative_eq!(*got, *want, epsilon = 1e-10, max_relative = 1e-8);
        }
        assert_relative_eq!(
            fit.intercept,
            intercept,
            epsilon = 1e-10,
            max_relative = 1e-8
        );
        assert_relative_eq!(fit.r2, score, epsilon = 1e-10, max_relative = 1e-8);
        assert_relative_eq!(
            fit.local_prediction,
            intercept + coef.iter().sum::<f64>(),
            epsilon = 1e-9
        );
        problems += 1;
    }
    assert_eq!(problems, 4);
}
