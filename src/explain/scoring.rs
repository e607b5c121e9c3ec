//! Scoring: every mask row of every level rendered into reused batch
//! buffers and passed to the classifier, in one parallel pass.

use std::sync::{Arc, Mutex};

use ndarray::{s, Array2, Array4, Axis};
use rayon::prelude::*;

use super::render_order::render_order;
use crate::classify::Classifier;
use crate::error::{Error, Result};
use crate::input::Image;
use crate::perturb::{Fill, Perturber};
use crate::segment::Segmentation;

/// One level's inputs to scoring and fitting.
pub(super) struct LevelPlan {
    pub(super) desired: usize,
    pub(super) segmentation: Arc<Segmentation>,
    pub(super) masks: Array2<u8>,
    pub(super) fill: Fill,
}

/// Scores every mask row of every level, `batch` images at a time, and
/// returns one `n × classes` array per level, rows in mask order.
///
/// The batches of all levels form one parallel pass (a coarse level is
/// often a single small batch, which alone would leave cores idle); each
/// worker renders into one reused buffer, rows in the order of
/// [`render_order`] so that each slot changes little from one batch to
/// the next. Scores go back to the rows' places, so the result does not
/// depend on `batch` or the thread count.
pub(super) fn score_levels<P, C>(
    perturber: &P,
    image: &Image,
    classifier: &C,
    plans: &[LevelPlan],
    batch: usize,
) -> Result<Vec<Array2<f32>>>
where
    P: Perturber + ?Sized,
    C: Classifier + ?Sized,
{
    let classes = classifier.num_classes();
    let (h, w) = (image.height(), image.width());
    let batch = batch.max(1);
    let jobs: Vec<Held> = plans
        .iter()
        .enumerate()
        .flat_map(|(level, plan)| {
            let n = plan.masks.nrows();
            (0..n)
                .step_by(batch)
                .map(move |start| (level, start, (start + batch).min(n)))
        })
        .collect();
    // Per level: the render order and the mask rows in that order.
    let (orders, ordered): (Vec<Vec<usize>>, Vec<Array2<u8>>) = plans
        .par_iter()
        .map(|plan| {
            let order = render_order(plan.masks.view(), batch);
            let masks = plan.masks.select(Axis(0), &order);
            (order, masks)
        })
        .unzip();
    let largest = jobs.iter().map(|&(_, a, b)| b - a).max().unwrap_or(0);
    let pool = BufferPool {
        shape: (largest, h, w, 3),
        free: Mutex::new(Vec::new()),
    };
    let results: Vec<Result<Array2<f32>>> = jobs
        .par_iter()
        .map_init(
            || pool.take(),
            |buffer, &job| {
                let (level, start, end) = job;
                let plan = &plans[level];
                render_batch(perturber, image, plan, &ordered[level], buffer, job)?;
                let view = buffer.images.slice(s![..end - start, .., .., ..]);
                let out = classifier.predict(view)?;
                check_scores(&out, end - start, classes)?;
                Ok(out)
            },
        )
        .collect();
    scatter(plans, &jobs, results, &orders, classes)
}

/// Renders the mask rows `start..end` of `level` (in render order) into
/// the buffer's first rows. Rows that hold this level's images of an
/// earlier batch need only the segments whose mask entry changed.
fn render_batch<P: Perturber + ?Sized>(
    perturber: &P,
    image: &Image,
    plan: &LevelPlan,
    masks: &Array2<u8>,
    buffer: &mut PooledBuffer<'_>,
    (level, start, end): Held,
) -> Result<()> {
    let (seg, fill) = (&plan.segmentation, &plan.fill);
    let rows = end - start;
    let mut view = buffer.images.slice_mut(s![..rows, .., .., ..]);
    let reused = match buffer.held.take() {
        Some((held_level, held_start, held_end)) if held_level == level => {
            let common = rows.min(held_end - held_start);
            perturber.render_over(
                image,
                seg,
                fill,
                masks.slice(s![start..start + common, ..]),
                masks.slice(s![held_start..held_start + common, ..]),
                view.slice_mut(s![..common, .., .., ..]),
            )?;
            common
        }
        _ => 0,
    };
    if reused < rows {
        perturber.render(
            image,
            seg,
            fill,
            masks.slice(s![start + reused..end, ..]),
            view.slice_mut(s![reused.., .., .., ..]),
        )?;
    }
    buffer.held = Some((level, start, end));
    Ok(())
}

/// Puts each batch's scores back in their rows' places (mask order), one
/// `n × classes` array per level.
fn scatter(
    plans: &[LevelPlan],
    jobs: &[Held],
    results: Vec<Result<Array2<f32>>>,
    orders: &[Vec<usize>],
    classes: usize,
) -> Result<Vec<Array2<f32>>> {
    let mut scores: Vec<Array2<f32>> = plans
        .iter()
        .map(|p| Array2::<f32>::zeros((p.masks.nrows(), classes)))
        .collect();
    for (&(level, start, _), part) in jobs.iter().zip(results) {
        let part = part?;
        for (row, &to) in part.rows().into_iter().zip(&orders[level][start..]) {
            scores[level].row_mut(to).assign(&row);
        }
    }
    Ok(scores)
}

/// Checks a classifier's output: `rows × classes`, every score finite.
pub(super) fn check_scores(scores: &Array2<f32>, rows: usize, classes: usize) -> Result<()> {
    if scores.dim() != (rows, classes) {
        return Err(Error::ClassifierOutput {
            expected: (rows, classes),
            got: scores.dim(),
        });
    }
    if let Some(((batch_row, class), &value)) = scores.indexed_iter().find(|(_, v)| !v.is_finite())
    {
        return Err(Error::ClassifierNonFinite {
            batch_row,
            class,
            value,
        });
    }
    Ok(())
}

/// Batch buffers passed from one rayon job to the next. rayon calls
/// `map_init`'s init once per job it splits off (8 to 16 times in one pass
/// here), and a fresh buffer of 64 large images costs its size again in page
/// faults; with the pool a pass allocates about one buffer per thread.
struct BufferPool {
    shape: (usize, usize, usize, usize),
    free: Mutex<Vec<(Array4<f32>, Option<Held>)>>,
}

/// Which images a buffer's first rows hold: level and mask rows `start..end`.
type Held = (usize, usize, usize);

impl BufferPool {
    fn take(&self) -> PooledBuffer<'_> {
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        let (images, held) = reused.unwrap_or_else(|| (Array4::zeros(self.shape), None));
        PooledBuffer {
            images,
            held,
            pool: self,
        }
    }
}

/// A buffer that returns to its pool, with what it holds, when its job ends.
struct PooledBuffer<'a> {
    images: Array4<f32>,
    held: Option<Held>,
    pool: &'a BufferPool,
}

impl Drop for PooledBuffer<'_> {
    fn drop(&mut self) {
        if let Ok(mut free) = self.pool.free.lock() {
            free.push((std::mem::take(&mut self.images), self.held));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::FnClassifier;
    use crate::perturb::{BernoulliPerturber, HideColor};
    use crate::rng::level_rng;
    use crate::segment::{Segmenter, SquareGrid};
    use ndarray::{Array3, Array4};

    /// Scores that depend on every pixel of an image and on nothing else.
    fn position_weighted() -> impl Classifier {
        FnClassifier::new(3, |batch: ndarray::ArrayView4<'_, f32>| {
            let mut out = Array2::zeros((batch.dim().0, 3));
            for (i, img) in batch.axis_iter(Axis(0)).enumerate() {
                for ((y, x, c), &v) in img.indexed_iter() {
                    let weight = ((y * 31 + x * 7 + c * 3) % 11) as f64 + 1.0;
                    out[[i, c]] += (weight * f64::from(v)) as f32;
                }
            }
            Ok(out)
        })
    }

    fn plans(image: &Image, hide: HideColor) -> (BernoulliPerturber, Vec<LevelPlan>) {
        let perturber = BernoulliPerturber::new(0.5, hide).unwrap();
        let plans = [4usize, 9, 16]
            .iter()
            .enumerate()
            .map(|(level, &desired)| {
                let seg = SquareGrid.segment(image, desired).unwrap();
                let n = 7 * seg.count() + 3;
                let masks = perturber
                    .masks(seg.count(), n, &mut level_rng(9, level))
                    .unwrap();
                let fill = perturber.fill(image, &seg).unwrap();
                LevelPlan {
                    desired,
                    segmentation: Arc::new(seg),
                    masks,
                    fill,
                }
            })
            .collect();
        (perturber, plans)
    }

    #[test]
    fn reused_buffers_score_like_fresh_renders_row_for_row() {
        let image = Image::new(Array3::from_shape_fn((13, 11, 3), |(y, x, c)| {
            ((y * 11 + x) * 3 + c) as f32 / 429.0
        }))
        .unwrap();
        let classifier = position_weighted();
        for hide in [HideColor::Constant([0.9, 0.1, 0.4]), HideColor::SegmentMean] {
            let (perturber, plans) = plans(&image, hide);
            // Reference: every row rendered afresh in one buffer, one call.
            let fresh: Vec<Array2<f32>> = plans
                .iter()
                .map(|plan| {
                    let n = plan.masks.nrows();
                    let mut out = Array4::zeros((n, 13, 11, 3));
                    perturber
                        .render(
                            &image,
                            &plan.segmentation,
                            &plan.fill,
                            plan.masks.view(),
                            out.view_mut(),
                        )
                        .unwrap();
                    classifier.predict(out.view()).unwrap()
                })
                .collect();
            for batch in [1, 2, 5, 8, 200] {
                let scored = score_levels(&perturber, &image, &classifier, &plans, batch).unwrap();
                assert_eq!(scored, fresh, "batch {batch}, {hide:?}");
            }
        }
    }

    #[test]
    fn misbehaving_output_is_an_error() {
        let image = Image::new(Array3::from_elem((6, 6, 3), 0.5)).unwrap();
        let (perturber, plans) = plans(&image, HideColor::default());
        let short = FnClassifier::new(2, |batch: ndarray::ArrayView4<'_, f32>| {
            Ok(Array2::zeros((batch.dim().0.saturating_sub(1), 2)))
        });
        assert!(matches!(
            score_levels(&perturber, &image, &short, &plans, 4),
            Err(Error::ClassifierOutput { .. })
        ));
        let nan = FnClassifier::new(2, |batch: ndarray::ArrayView4<'_, f32>| {
            Ok(Array2::from_elem((batch.dim().0, 2), f32::NAN))
        });
        assert!(matches!(
            score_levels(&perturber, &image, &nan, &plans, 4),
            Err(Error::ClassifierNonFinite { .. })
        ));
    }
}
