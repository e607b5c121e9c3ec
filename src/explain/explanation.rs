//! [`Explanation`]: what [`MultiScaleLime::explain`](crate::MultiScaleLime::explain) returns.

use std::sync::Arc;

use ndarray::{Array1, ArrayView1};

use super::Response;
use crate::combine::{CombinedHeatmap, Combiner, Fusion};
use crate::error::{Error, Result};
use crate::heatmap::HeatmapStack;
use crate::segment::Segmentation;

/// The result of [`MultiScaleLime::explain`](crate::MultiScaleLime::explain):
/// the classifier's scores on the original image, one [`HeatmapStack`] per
/// explained class with its levels fused by the explainer's [`Fusion`]
/// rule ([`fused`](Explanation::fused)), and the segmentation of each
/// level (shared by the stacks).
///
/// Fuse a stack's levels with another [`Combiner`](crate::Combiner):
/// `Trapezoid.combine(&explanation.stacks()[0])`.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub(super) prediction: Array1<f32>,
    pub(super) stacks: Vec<HeatmapStack>,
    pub(super) fused: Vec<CombinedHeatmap>,
    pub(super) fusion: Fusion,
    pub(super) response: Response,
    pub(super) segmentations: Vec<Arc<Segmentation>>,
}

impl Explanation {
    /// An explanation from its parts, checked: what a deserializer needs
    /// to rebuild one. The fused maps are computed again with `fusion`,
    /// as [`MultiScaleLime::explain`](crate::MultiScaleLime::explain)
    /// computes them (deterministic: bit-identical to those of the
    /// explanation the parts came from), and the segmentations are those
    /// of the levels, which the stacks share. `stacks` holds one stack per
    /// explained class, in target order ([`HeatmapStack::try_new`] makes
    /// one from its levels); `response` is what the surrogates regressed,
    /// [`Response::Score`] or [`Response::LogOdds`]
    /// ([`Explanation::response`]).
    ///
    /// ```
    /// use multiscale_lime::{Error, Explanation, FnClassifier, Image, MultiScaleLime};
    /// use multiscale_lime::{Response, SquareGrid, Target};
    /// use ndarray::{Array2, Array3};
    ///
    /// let image = Image::new(Array3::from_elem((8, 8, 3), 0.8))?;
    /// let clf = FnClassifier::new(2, |b| {
    ///     Ok(Array2::from_shape_fn((b.dim().0, 2), |(i, c)| {
    ///         let p = 0.5 * b[[i, 0, 0, 0]] + 0.1;
    ///         if c == 0 { p } else { 1.0 - p }
    ///     }))
    /// });
    /// let lime = MultiScaleLime::builder().segmenter(SquareGrid).levels([4, 16]).build()?;
    /// let e = lime.explain(&image, &clf, Target::TopLabels(2))?;
    ///
    /// // What a serialized explanation holds, back into one.
    /// let (prediction, stacks) = (e.prediction().clone(), e.stacks().to_vec());
    /// let again = Explanation::from_parts(prediction, stacks, e.fusion().clone(), e.response())?;
    /// assert_eq!(again.fused(), e.fused());
    /// assert_eq!(again.fused_for(1), e.fused_for(1));
    /// assert_eq!(again.segmentations(), e.segmentations());
    ///
    /// // `Auto` is what an explainer is told, not what an explanation did.
    /// let err = Explanation::from_parts(e.prediction().clone(), e.stacks().to_vec(),
    ///                                   e.fusion().clone(), Response::Auto).unwrap_err();
    /// assert!(matches!(err, Error::InvalidParameter { name: "response", .. }));
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    ///
    /// # Errors
    /// - [`Error::InvalidParameter`] for [`Response::Auto`], or a `fusion`
    ///   that [`Fusion::validate`] refuses for the stacks' level count;
    /// - [`Error::InconsistentInput`] for an empty or non-finite
    ///   prediction, no stack, a stack of a class the prediction does not
    ///   have or of a class explained twice, stacks of different level
    ///   counts, or levels at the same position with other segmentations
    ///   or other desired counts;
    /// - [`Error::ClassifierNotProbability`] for
    ///   [`Response::LogOdds`] and an explained class scored outside
    ///   `[0, 1]`, as `explain` reports it.
    pub fn from_parts(
        prediction: Array1<f32>,
        stacks: Vec<HeatmapStack>,
        fusion: Fusion,
        response: Response,
    ) -> Result<Explanation> {
        check_prediction(prediction.view(), response)?;
        check_stacks(prediction.view(), &stacks, response)?;
        fusion.validate(stacks[0].levels().len())?;
        let segmentations = stacks[0]
            .levels()
            .iter()
            .map(|l| Arc::clone(&l.segmentation))
            .collect();
        Explanation::assemble(prediction, stacks, fusion, response, segmentations)
    }

    /// The explanation of `stacks` with their levels fused by `fusion`,
    /// each stack in turn, as `explain` fuses them; `segmentations` are
    /// the levels'.
    pub(super) fn assemble(
        prediction: Array1<f32>,
        stacks: Vec<HeatmapStack>,
        fusion: Fusion,
        response: Response,
        segmentations: Vec<Arc<Segmentation>>,
    ) -> Result<Explanation> {
        let fused = stacks
            .iter()
            .map(|stack| fusion.combine(stack))
            .collect::<Result<Vec<_>>>()?;
        Ok(Explanation {
            prediction,
            stacks,
            fused,
            fusion,
            response,
            segmentations,
        })
    }

    /// The classifier's scores on the original image.
    pub fn prediction(&self) -> &Array1<f32> {
        &self.prediction
    }

    /// The highest-scoring class on the original image (lowest index on ties).
    pub fn predicted_class(&self) -> usize {
        argsort_desc(self.prediction.view())
            .first()
            .copied()
            .unwrap_or(0)
    }

    /// One stack per explained class, in target order (for
    /// [`Target::TopLabels`](crate::Target::TopLabels): best first). Never
    /// empty.
    pub fn stacks(&self) -> &[HeatmapStack] {
        &self.stacks
    }

    /// The stack of `class`, if it was explained.
    pub fn stack(&self, class: usize) -> Option<&HeatmapStack> {
        self.stacks.iter().find(|s| s.class() == class)
    }

    /// The first explained class's levels fused by the explainer's
    /// [`Fusion`] rule: the heatmap to show. With
    /// [`Target::TopLabels`](crate::Target::TopLabels), the best class's;
    /// [`fused_for`](Explanation::fused_for) gives the others'.
    pub fn fused(&self) -> &CombinedHeatmap {
        &self.fused[0]
    }

    /// The fused heatmap of `class`, if it was explained.
    pub fn fused_for(&self, class: usize) -> Option<&CombinedHeatmap> {
        self.stacks
            .iter()
            .position(|s| s.class() == class)
            .map(|i| &self.fused[i])
    }

    /// The rule that fused the levels.
    pub fn fusion(&self) -> &Fusion {
        &self.fusion
    }

    /// What the surrogates regressed: [`Response::Score`] or
    /// [`Response::LogOdds`], never [`Response::Auto`] (which became one
    /// of them on the unperturbed image's scores).
    pub fn response(&self) -> Response {
        self.response
    }

    /// The segmentation of each level, in request order.
    pub fn segmentations(&self) -> &[Arc<Segmentation>] {
        &self.segmentations
    }
}

/// [`Error::InconsistentInput`] from [`Explanation::from_parts`].
fn parts_error(reason: String) -> Error {
    Error::inconsistent("explanation", reason)
}

/// A resolved response and a prediction of finite scores, at least one.
fn check_prediction(prediction: ArrayView1<'_, f32>, response: Response) -> Result<()> {
    if response == Response::Auto {
        return Err(Error::invalid(
            "response",
            response.name(),
            "a resolved response: score or log-odds",
        ));
    }
    if prediction.is_empty() {
        return Err(parts_error("the prediction has no class".into()));
    }
    match prediction.iter().position(|v| !v.is_finite()) {
        Some(c) => Err(parts_error(format!(
            "the prediction scores class {c} {}, expected finite scores",
            prediction[c]
        ))),
        None => Ok(()),
    }
}

/// At least one stack, each of a distinct class of the prediction that
/// `response` can regress; as many levels in each, the levels at one
/// position being one level (its desired count and segmentation).
fn check_stacks(
    prediction: ArrayView1<'_, f32>,
    stacks: &[HeatmapStack],
    response: Response,
) -> Result<()> {
    let Some(first) = stacks.first() else {
        return Err(parts_error(
            "no stacks: an explanation explains at least one class".into(),
        ));
    };
    for (i, stack) in stacks.iter().enumerate() {
        let class = stack.class();
        let Some(&value) = prediction.get(class) else {
            return Err(parts_error(format!(
                "stack {i} explains class {class}, but the prediction has {} classes",
                prediction.len()
            )));
        };
        if stacks[..i].iter().any(|s| s.class() == class) {
            return Err(parts_error(format!("class {class} is explained twice")));
        }
        response.check_original(class, value)?;
        if stack.levels().len() != first.levels().len() {
            return Err(parts_error(format!(
                "class {class} has {} levels, class {} has {}",
                stack.levels().len(),
                first.class(),
                first.levels().len()
            )));
        }
        let levels = stack.levels().iter().zip(first.levels()).enumerate();
        for (l, (level, shared)) in levels {
            let same = Arc::ptr_eq(&level.segmentation, &shared.segmentation)
                || level.segmentation == shared.segmentation;
            if !same || level.desired != shared.desired {
                return Err(parts_error(format!(
                    "level {l} of class {class} is not level {l} of class {}: \
                     the classes' levels share their desired counts and segmentations",
                    first.class()
                )));
            }
        }
    }
    Ok(())
}

/// Class indices by decreasing score, ties by lower index.
pub(super) fn argsort_desc(scores: ArrayView1<'_, f32>) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::FnClassifier;
    use crate::explain::{Adaptive, MultiScaleLime, Schedule, Target};
    use crate::heatmap::{Heatmap, LevelExplanation, Normalization};
    use crate::input::Image;
    use crate::segment::SquareGrid;
    use crate::surrogate::Surrogate;
    use ndarray::{Array2, Array3, ArrayView4, Axis};

    fn image() -> Image {
        Image::new(Array3::from_shape_fn((12, 12, 3), |(y, x, c)| {
            ((y * 5 + x * 3 + c * 7) % 13) as f32 / 12.0
        }))
        .unwrap()
    }

    /// A softmax over three weighted sums of the pixels: probabilities.
    fn softmax(
        batch: ArrayView4<'_, f32>,
    ) -> std::result::Result<Array2<f32>, crate::ClassifierError> {
        let mut out = Array2::zeros((batch.dim().0, 3));
        for (i, img) in batch.axis_iter(Axis(0)).enumerate() {
            let mut logits = [0.0f64; 3];
            for ((y, x, c), &v) in img.indexed_iter() {
                logits[c] += f64::from(v) * (((y * 7 + x * 3) % 5) as f64 - 2.0) / 40.0;
            }
            let total: f64 = logits.iter().map(|l| l.exp()).sum();
            for (c, l) in logits.iter().enumerate() {
                out[[i, c]] = (l.exp() / total) as f32;
            }
        }
        Ok(out)
    }

    /// Explanations of every fusion rule, schedule and response.
    fn explanations() -> Vec<Explanation> {
        let clf = FnClassifier::new(3, softmax);
        let fusions = [
            Fusion::Trapezoid,
            Fusion::Inverse,
            Fusion::Gaussian {
                mean: 0.5,
                std: 0.3,
            },
            Fusion::Uniform,
            Fusion::Density,
            Fusion::Feathered { width: 0.3 },
            Fusion::Weights(vec![1.0, 0.0, 2.5]),
        ];
        let schedules = [
            Schedule::PerLevel,
            Schedule::SharedPasses,
            Schedule::Adaptive(Adaptive::stability(0.9).unwrap()),
        ];
        let mut out = Vec::new();
        for (i, fusion) in fusions.into_iter().enumerate() {
            let response = [Response::Auto, Response::Score][i % 2];
            let normalization = Normalization::ALL[i % 3];
            let grid = MultiScaleLime::builder()
                .segmenter(SquareGrid)
                .levels([4, 9, 16])
                .fusion(fusion.clone())
                .response(response)
                .normalization(normalization)
                .schedule(schedules[i % 3])
                .seed(i as u64);
            let e = grid.build().unwrap();
            out.push(e.explain(&image(), &clf, Target::TopLabels(2)).unwrap());
            out.push(e.explain(&image(), &clf, Target::Class(2)).unwrap());
        }
        // SLIC's irregular superpixels.
        let slic = MultiScaleLime::builder().levels([3, 8]).build().unwrap();
        out.push(slic.explain(&image(), &clf, Target::TopLabels(3)).unwrap());
        out
    }

    /// The parts of `e` copied into new values (new label maps, shared by
    /// the stacks as a deserializer shares them) and rebuilt.
    fn rebuilt(e: &Explanation) -> Result<Explanation> {
        let maps = e
            .segmentations()
            .iter()
            .map(|s| Segmentation::new(s.labels().clone()).map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        let stacks = e
            .stacks()
            .iter()
            .map(|stack| {
                let levels = stack.levels().iter().zip(&maps);
                let levels = levels
                    .map(|(l, seg)| {
                        let mut fit = Surrogate::new(l.coefficients.clone(), l.intercept, l.r2);
                        fit.local_prediction = l.local_prediction;
                        fit.std_errors = l.std_errors.clone();
                        let heatmap = Heatmap::new(l.heatmap.values().clone());
                        let seg = Arc::clone(seg);
                        LevelExplanation::new(l.desired, seg, l.samples, l.calls, fit, heatmap)
                    })
                    .collect::<Result<Vec<_>>>()?;
                HeatmapStack::try_new(stack.class(), levels)
            })
            .collect::<Result<Vec<_>>>()?;
        let fusion = e.fusion().to_string().parse()?;
        let prediction = e.prediction().iter().copied().collect();
        Explanation::from_parts(prediction, stacks, fusion, e.response())
    }

    fn f64_bits<'a>(values: impl IntoIterator<Item = &'a f64>) -> Vec<u64> {
        values.into_iter().map(|v| v.to_bits()).collect()
    }

    fn f32_bits<'a>(values: impl IntoIterator<Item = &'a f32>) -> Vec<u64> {
        values.into_iter().map(|v| u64::from(v.to_bits())).collect()
    }

    /// Every public accessor of `e`, as bits.
    fn bits(e: &Explanation) -> Vec<(String, Vec<u64>)> {
        let mut out = vec![
            ("prediction".into(), f32_bits(e.prediction())),
            ("predicted class".into(), vec![e.predicted_class() as u64]),
        ];
        let mut fused = |name: String, f: &CombinedHeatmap| {
            let (h, w) = f.heatmap.dim();
            out.push((format!("{name} size"), vec![h as u64, w as u64]));
            out.push((format!("{name} heatmap"), f32_bits(f.heatmap.values())));
            out.push((format!("{name} weights"), f64_bits(&f.weights)));
            out.push((
                format!("{name} fallback"),
                vec![u64::from(f.uniform_fallback)],
            ));
        };
        fused("fused".into(), e.fused());
        for class in 0..4 {
            match e.fused_for(class) {
                Some(f) => fused(format!("fused_for({class})"), f),
                None => assert!(e.stack(class).is_none()),
            }
        }
        for (i, s) in e.segmentations().iter().enumerate() {
            let labels = s.labels().iter().map(|&l| u64::from(l)).collect();
            out.push((format!("segmentation {i}"), labels));
        }
        for stack in e.stacks() {
            let c = stack.class();
            assert_eq!(e.stack(c), Some(stack));
            for (l, level) in stack.levels().iter().enumerate() {
                // The stacks share the explanation's segmentations.
                assert!(Arc::ptr_eq(&level.segmentation, &e.segmentations()[l]));
                let name = |what: &str| format!("class {c} level {l} {what}");
                let counts = [level.desired, level.actual, level.samples, level.calls];
                out.push((name("counts"), counts.iter().map(|&n| n as u64).collect()));
                out.push((name("coefficients"), f64_bits(&level.coefficients)));
                let scalars = [level.intercept, level.r2, level.local_prediction];
                out.push((name("scalars"), f64_bits(&scalars)));
                let se = level.std_errors.iter().flatten();
                out.push((name("std errors"), f64_bits(se)));
                out.push((name("heatmap"), f32_bits(level.heatmap.values())));
                let intervals = level.intervals(0.9).unwrap().unwrap_or_default();
                let intervals: Vec<f64> = intervals.iter().flat_map(|&(a, b)| [a, b]).collect();
                out.push((name("intervals"), f64_bits(&intervals)));
                let stability = level.expected_stability();
                out.push((name("stability"), f64_bits(stability.iter())));
            }
        }
        out
    }

    #[test]
    fn a_rebuilt_explanation_is_the_original_bit_for_bit() {
        let all = explanations();
        assert!(all.iter().any(|e| e.response() == Response::LogOdds));
        assert!(all.iter().any(|e| e.response() == Response::Score));
        for e in &all {
            let again = rebuilt(e).unwrap();
            assert_eq!(bits(&again), bits(e), "{}", e.fusion());
            assert_eq!(again.fusion(), e.fusion());
            assert_eq!(again.response(), e.response());
            assert_eq!(again.stacks(), e.stacks());
            assert_eq!(again.segmentations(), e.segmentations());
            // And once more, from the copy.
            assert_eq!(bits(&rebuilt(&again).unwrap()), bits(e));
        }
    }

    /// The parts of `e`, changed by `change`, and what `from_parts` says.
    fn from_changed(
        e: &Explanation,
        change: impl FnOnce(&mut Array1<f32>, &mut Vec<HeatmapStack>, &mut Fusion, &mut Response),
    ) -> Error {
        let mut prediction = e.prediction().clone();
        let mut stacks = e.stacks().to_vec();
        let (mut fusion, mut response) = (e.fusion().clone(), e.response());
        change(&mut prediction, &mut stacks, &mut fusion, &mut response);
        Explanation::from_parts(prediction, stacks, fusion, response).unwrap_err()
    }

    fn reason(error: Error) -> String {
        match error {
            Error::InconsistentInput { context, reason } => {
                assert_eq!(context, "explanation");
                reason
            }
            other => panic!("not inconsistent input: {other}"),
        }
    }

    #[test]
    fn inconsistent_parts_are_refused_with_what_is_wrong() {
        let clf = FnClassifier::new(3, softmax);
        let lime = MultiScaleLime::builder()
            .segmenter(SquareGrid)
            .levels([4, 9, 16])
            .build()
            .unwrap();
        let e = lime.explain(&image(), &clf, Target::TopLabels(2)).unwrap();
        assert_eq!(e.response(), Response::LogOdds);
        let (c0, c1) = (e.stacks()[0].class(), e.stacks()[1].class());
        let restack = |s: &HeatmapStack, class: usize, levels: &[usize]| {
            let levels = levels.iter().map(|&l| s.levels()[l].clone()).collect();
            HeatmapStack::try_new(class, levels).unwrap()
        };

        let err = from_changed(&e, |_, _, _, r| *r = Response::Auto);
        assert!(
            matches!(err, Error::InvalidParameter { name: "response", ref value, .. } if value == "auto")
        );
        let err = from_changed(&e, |p, _, _, _| *p = Array1::zeros(0));
        assert!(reason(err).contains("no class"));
        let err = from_changed(&e, |p, _, _, _| p[1] = f32::NAN);
        assert!(reason(err).contains("class 1 NaN"));
        let err = from_changed(&e, |_, s, _, _| s.clear());
        assert!(reason(err).contains("no stacks"));
        let err = from_changed(&e, |_, s, _, _| s[1] = restack(&s[1], 7, &[0, 1, 2]));
        assert!(reason(err).contains("stack 1 explains class 7, but the prediction has 3 classes"));
        let err = from_changed(&e, |_, s, _, _| s[1] = restack(&s[1], c0, &[0, 1, 2]));
        assert!(reason(err).contains(&format!("class {c0} is explained twice")));
        let err = from_changed(&e, |_, s, _, _| s[1] = restack(&s[1], c1, &[0, 1]));
        assert!(reason(err).contains(&format!("class {c1} has 2 levels, class {c0} has 3")));
        let err = from_changed(&e, |_, s, _, _| s[1] = restack(&s[1], c1, &[1, 0, 2]));
        assert!(reason(err).contains(&format!(
            "level 0 of class {c1} is not level 0 of class {c0}"
        )));
        let err = from_changed(&e, |_, _, f, _| *f = Fusion::Weights(vec![1.0, 2.0]));
        assert!(
            matches!(err, Error::InvalidParameter { name: "fusion", .. }),
            "{err}"
        );
        let err = from_changed(&e, |_, _, f, _| {
            *f = Fusion::Gaussian {
                mean: 0.5,
                std: -1.0,
            }
        });
        assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
        // Log-odds of a score outside [0, 1], as `explain` reports them.
        let err = from_changed(&e, |p, _, _, _| p[c1] = 2.5);
        assert!(
            matches!(err, Error::ClassifierNotProbability { sample: 0, class, value } if class == c1 && value == 2.5),
            "{err}"
        );
        // The same scores regressed as they are are fine.
        let mut p = e.prediction().clone();
        p[c1] = 2.5;
        let score =
            Explanation::from_parts(p, e.stacks().to_vec(), e.fusion().clone(), Response::Score);
        assert_eq!(score.unwrap().prediction()[c1], 2.5);
    }
}
