//! [`Explanation`]: what [`MultiScaleLime::explain`](crate::MultiScaleLime::explain) returns.

use std::sync::Arc;

use ndarray::{Array1, ArrayView1};

use super::Response;
use crate::combine::{CombinedHeatmap, Fusion};
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

/// Class indices by decreasing score, ties by lower index.
pub(super) fn argsort_desc(scores: ArrayView1<'_, f32>) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}
