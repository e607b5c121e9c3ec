//! scikit-image's `_enforce_label_connectivity_cython` for 2-D label maps with
//! `start_label = 0`: raster scan, breadth-first growth over 4-neighbours
//! (order x+1, x−1, y+1, y−1) up to `max_size` pixels; a component smaller
//! than `min_size` takes the label of the last already-relabelled neighbour
//! met during its search (or keeps its new label when there is none).

const UNVISITED: u32 = u32::MAX;

/// Relabels `labels` (row-major, `h·w`) into 4-connected segments; returns the
/// new labels and their count.
pub(crate) fn enforce_connectivity(
    labels: &[u32],
    h: usize,
    w: usize,
    min_size: usize,
    max_size: usize,
) -> (Vec<u32>, usize) {
    let mut out = vec![UNVISITED; labels.len()];
    debug_assert_eq!(labels.len(), h * w);
    let n = labels.len();
    // (index, column) pairs: rows follow from the index without a division.
    let mut queue: Vec<(usize, usize)> = Vec::with_capacity(max_size.clamp(1, n));
    let mut current: u32 = 0;
    for start in 0..n {
        if out[start] != UNVISITED {
            continue;
        }
        let label = labels[start];
        let mut adjacent = current;
        out[start] = current;
        queue.clear();
        queue.push((start, start % w));
        let mut visited = 0;
        'bfs: while visited < queue.len() && queue.len() < max_size {
            let (p, x) = queue[visited];
            visited += 1;
            // Written out per neighbour: a loop over an array of options
            // cost three times the instructions.
            macro_rules! visit {
                ($q:expr, $qx:expr) => {
                    let q = $q;
                    let seen = out[q];
                    if seen == UNVISITED {
                        if labels[q] == label {
                            out[q] = current;
                            queue.push((q, $qx));
                            if queue.len() >= max_size {
                                break 'bfs;
                            }
                        }
                    } else if seen != current {
                        adjacent = seen;
                    }
                };
            }
            if x + 1 < w {
                visit!(p + 1, x + 1);
            }
            if x > 0 {
                visit!(p - 1, x - 1);
            }
            if p + w < n {
                visit!(p + w, x);
            }
            if p >= w {
                visit!(p - w, x);
            }
        }
        if queue.len() < min_size {
            for &(q, _) in &queue {
                out[q] = adjacent;
            }
        } else {
            current += 1;
        }
    }
    let count = out.iter().copied().max().map_or(0, |m| m as usize + 1);
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_disconnected_and_merges_small() {
        // Label 0 appears in two separate places; the right one is a single
        // pixel below min_size and joins its last relabelled neighbour.
        #[rustfmt::skip]
        let labels = [
            0, 0, 1, 1, 0,
            0, 0, 1, 1, 1,
            2, 2, 2, 2, 2,
        ];
        let (out, count) = enforce_connectivity(&labels, 3, 5, 2, 100);
        #[rustfmt::skip]
        let expected = [
            0, 0, 1, 1, 1,
            0, 0, 1, 1, 1,
            2, 2, 2, 2, 2,
        ];
        assert_eq!(out, expected);
        assert_eq!(count, 3);
    }

    #[test]
    fn max_size_cuts_large_components() {
        let labels = [0u32; 6];
        let (out, count) = enforce_connectivity(&labels, 1, 6, 0, 4);
        assert_eq!(out, vec![0, 0, 0, 0, 1, 1]);
        assert_eq!(count, 2);
    }
}
