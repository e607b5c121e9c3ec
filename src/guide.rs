//! The user guide: what multi-scale LIME computes, how to choose its levels,
//! weights and hide colour, how to read and evaluate the heatmaps, and how
//! to run ONNX models and the `mslime` command line. (The same text as
//! `docs/guide.md` in the repository.)
#![doc = include_str!("../docs/guide.md")]
