//! Pickling of `Explanation` and `Level` (multiprocessing, joblib).
//!
//! `__reduce__` gives a module function of `_core` and a state of plain
//! Python values and numpy arrays, every number as the explanation holds
//! it (so the copy is bit-identical). Version 1 of the state:
//!
//! - `Explanation`: a dict of `version` (1), `image` (`H×W×3` `float32`
//!   in `[0, 1]`, as explained), `prediction` (`(C,)` `float32`),
//!   `response` (`"score"` or `"log-odds"`), `fusion` (the fusion rule's
//!   text form, as `fusion=` takes it: `"density"`, `"weights:1,0,2"`,
//!   …), `labels` (the distinct label maps, `H×W` `uint32`),
//!   `segmentations` (per level, an index into `labels`) and `stacks`:
//!   per explained class, a dict of `class`, `heatmap` (the fused map,
//!   `H×W` `float32`), `weights` (`(L,)` `float64`) and `levels`, a
//!   level's dict each, whose `labels` is an index into `labels`.
//! - A level: a dict of `desired`, `actual`, `labels`, `samples`,
//!   `calls` (int), `coefficients` (`(s',)` `float64`), `intercept`,
//!   `r2`, `local_prediction` (float), `std_errors` (`(s',)` `float64` or
//!   `None`) and `heatmap` (`H×W` `float32`).
//! - `Level`: a level's dict with `version` (1), whose `labels` is the
//!   label map itself.
//!
//! `_explanation_from_state` and `_level_from_state` read the state into
//! the crate's parts and rebuild the crate's types with its checked
//! constructors (`LevelExplanation::new`, `HeatmapStack::try_new`,
//! `Explanation::from_parts`, which fuses the levels again with `fusion`),
//! so an unpickled explanation is what `explain` returned. The state's
//! types, dtypes and shapes are checked here, the parts' consistency by
//! the constructors; the fused maps computed again must be the pickled
//! ones bit for bit. A bad state raises `InvalidInputError`, naming what
//! is wrong and where.

use std::fmt::Display;
use std::sync::Arc;

use multiscale_lime::ndarray::{Array, Array1, Array2, Dimension};
use multiscale_lime::{
    Explanation, Fusion, Heatmap, HeatmapStack, Image, LevelExplanation, Response, Segmentation,
    Surrogate,
};
use numpy::{Element, PyArray, PyArray1, PyArray2, PyArray3, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::explainer::{PyExplanation, PyLevel};

/// The state version written, and the only one read.
const VERSION: u32 = 1;

/// What `__reduce__` returns: `_core`'s function `rebuild` (one of the
/// two `…_from_state` below, as registered) and the state it takes.
pub(crate) type Reduced<'py> = (Bound<'py, PyAny>, (Bound<'py, PyDict>,));

/// `__reduce__`'s answer for `state`, rebuilt by `_core.{rebuild}`.
pub(crate) fn reduce<'py>(
    py: Python<'py>,
    rebuild: &str,
    state: Bound<'py, PyDict>,
) -> PyResult<Reduced<'py>> {
    let rebuild = py.import("multiscale_lime._core")?.getattr(rebuild)?;
    Ok((rebuild, (state,)))
}

/// The state of an explanation (see the module's documentation).
pub(crate) fn explanation_state<'py>(
    py: Python<'py>,
    explanation: &PyExplanation,
) -> PyResult<Bound<'py, PyDict>> {
    let e = explanation.explanation();
    // Levels share their label maps with the explanation's segmentations
    // (and with the other classes' levels): each distinct map is written
    // once.
    let mut pool: Vec<&Arc<Segmentation>> = Vec::new();
    let segmentations: Vec<usize> = e
        .segmentations()
        .iter()
        .map(|s| intern(&mut pool, s))
        .collect();
    let stacks = PyList::empty(py);
    for stack in e.stacks() {
        let fused = e.fused_for(stack.class()).ok_or_else(|| {
            crate::error::invalid("the explanation holds no fused map for this class")
        })?;
        let levels = PyList::empty(py);
        for level in stack.levels() {
            let labels = intern(&mut pool, &level.segmentation);
            levels.append(level_dict(py, level, labels.into_pyobject(py)?.into_any())?)?;
        }
        let d = PyDict::new(py);
        d.set_item("class", stack.class())?;
        d.set_item("heatmap", PyArray2::from_array(py, fused.heatmap.values()))?;
        d.set_item("weights", PyArray1::from_slice(py, &fused.weights))?;
        d.set_item("levels", levels)?;
        stacks.append(d)?;
    }
    let state = PyDict::new(py);
    state.set_item("version", VERSION)?;
    let image = explanation.image();
    state.set_item("image", PyArray3::from_array(py, &image.view()))?;
    state.set_item("prediction", PyArray1::from_array(py, e.prediction()))?;
    state.set_item("response", e.response().name())?;
    state.set_item("fusion", e.fusion().to_string())?;
    let labels: Vec<_> = pool
        .iter()
        .map(|s| PyArray2::from_array(py, s.labels()))
        .collect();
    state.set_item("labels", labels)?;
    state.set_item("segmentations", segmentations)?;
    state.set_item("stacks", stacks)?;
    Ok(state)
}

/// The state of a level on its own (see the module's documentation).
pub(crate) fn level_state<'py>(
    py: Python<'py>,
    level: &LevelExplanation,
) -> PyResult<Bound<'py, PyDict>> {
    let labels = PyArray2::from_array(py, level.segmentation.labels()).into_any();
    let state = level_dict(py, level, labels)?;
    state.set_item("version", VERSION)?;
    Ok(state)
}

/// The index of `s` in `pool` (the same map, or an equal one), added
/// when new.
fn intern<'a>(pool: &mut Vec<&'a Arc<Segmentation>>, s: &'a Arc<Segmentation>) -> usize {
    match pool.iter().position(|p| Arc::ptr_eq(p, s) || p == &s) {
        Some(i) => i,
        None => {
            pool.push(s);
            pool.len() - 1
        }
    }
}

/// A level's dict, with `labels` as given (an index or the map).
fn level_dict<'py>(
    py: Python<'py>,
    level: &LevelExplanation,
    labels: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("desired", level.desired)?;
    d.set_item("actual", level.actual)?;
    d.set_item("labels", labels)?;
    d.set_item("samples", level.samples)?;
    d.set_item("calls", level.calls)?;
    d.set_item(
        "coefficients",
        PyArray1::from_array(py, &level.coefficients),
    )?;
    d.set_item("intercept", level.intercept)?;
    d.set_item("r2", level.r2)?;
    d.set_item("local_prediction", level.local_prediction)?;
    d.set_item(
        "std_errors",
        level
            .std_errors
            .as_ref()
            .map(|s| PyArray1::from_array(py, s)),
    )?;
    d.set_item("heatmap", PyArray2::from_array(py, level.heatmap.values()))?;
    Ok(d)
}

/// Rebuilds a pickled `Explanation` from its state.
#[pyfunction]
#[pyo3(name = "_explanation_from_state")]
pub(crate) fn explanation_from_state(state: &Bound<'_, PyAny>) -> PyResult<PyExplanation> {
    let s = Fields::of(state, "Explanation", String::new())?;
    s.version()?;
    let image = Image::new(s.array::<f32, _>("image", "float32")?).map_err(|e| s.bad(e))?;
    let dim = (image.height(), image.width());
    let prediction: Array1<f32> = s.array("prediction", "float32")?;
    if prediction.is_empty() {
        return Err(s.bad("'prediction' is empty"));
    }
    let response_name: String = s.value("response")?;
    let response = [Response::Score, Response::LogOdds]
        .into_iter()
        .find(|r| r.name() == response_name)
        .ok_or_else(|| {
            s.bad(format!(
                "'response' is {response_name:?}, expected \"score\" or \"log-odds\""
            ))
        })?;
    let fusion: Fusion = s
        .value::<String>("fusion")?
        .parse()
        .map_err(|e| s.bad(format!("'fusion': {e}")))?;
    let pool = s
        .list("labels")?
        .iter()
        .enumerate()
        .map(|(k, item)| {
            let what = format!("'labels'[{k}]");
            let labels: Array2<u32> = array_of(&item, &what, "uint32").map_err(|m| s.bad(m))?;
            label_map(labels, Some(dim), &what).map_err(|m| s.bad(m))
        })
        .collect::<PyResult<Vec<Arc<Segmentation>>>>()?;
    let segmentations = s.value::<Vec<usize>>("segmentations")?;
    for &k in &segmentations {
        pick(&s, &pool, k, "an entry of 'segmentations'")?;
    }
    if segmentations.is_empty() {
        return Err(s.bad("'segmentations' is empty"));
    }
    let mut stacks = Vec::new();
    let mut fused = Vec::new();
    for (i, item) in s.list("stacks")?.iter().enumerate() {
        let f = s.child(&item, &format!("stacks[{i}]"))?;
        let (stack, map, weights) = stack_parts(&f, &pool, prediction.len(), dim)?;
        if stack.levels().len() != segmentations.len() || weights.len() != stack.levels().len() {
            return Err(f.bad(format!(
                "{} levels and {} weights for {} segmentations: give one of each per level",
                stack.levels().len(),
                weights.len(),
                segmentations.len()
            )));
        }
        stacks.push(stack);
        fused.push((f, map, weights));
    }
    if stacks.is_empty() {
        return Err(s.bad("'stacks' is empty: an explanation explains at least one class"));
    }
    let explanation =
        Explanation::from_parts(prediction, stacks, fusion, response).map_err(|e| s.bad(e))?;
    check_rebuilt(&s, &explanation, &pool, &segmentations, &fused)?;
    Ok(PyExplanation::new(explanation, image))
}

/// One explained class's stack from its dict, with the pickled fused map
/// and weights (`classes`: the model's; `dim`: the image's size).
fn stack_parts<'py>(
    f: &Fields<'py>,
    pool: &[Arc<Segmentation>],
    classes: usize,
    dim: (usize, usize),
) -> PyResult<(HeatmapStack, Array2<f32>, Array1<f64>)> {
    let class: usize = f.value("class")?;
    if class >= classes {
        return Err(f.bad(format!(
            "'class' is {class}, but the model has {classes} classes"
        )));
    }
    let map: Array2<f32> = f.array("heatmap", "float32")?;
    if map.dim() != dim {
        return Err(f.bad(format!(
            "'heatmap' is {:?}, but the image is {dim:?}",
            map.dim()
        )));
    }
    let weights: Array1<f64> = f.array("weights", "float64")?;
    let levels = f
        .list("levels")?
        .iter()
        .enumerate()
        .map(|(l, item)| {
            let g = f.child(&item, &format!("levels[{l}]"))?;
            let labels = pick(&g, pool, g.value("labels")?, "'labels'")?;
            level(&g, labels, Some(dim))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let stack = HeatmapStack::try_new(class, levels).map_err(|e| f.bad(e))?;
    Ok((stack, map, weights))
}

/// The label map at index `k` of `pool`, for `what` in `f`.
fn pick(
    f: &Fields<'_>,
    pool: &[Arc<Segmentation>],
    k: usize,
    what: &str,
) -> PyResult<Arc<Segmentation>> {
    pool.get(k).cloned().ok_or_else(|| {
        f.bad(format!(
            "{what} is {k}, but there are {} label maps",
            pool.len()
        ))
    })
}

/// The rebuilt explanation agrees with what the state says besides its
/// parts: `segmentations` names the levels' maps, and each class's
/// levels fuse (again) to its pickled `heatmap` and `weights`, bit for bit.
fn check_rebuilt(
    s: &Fields<'_>,
    explanation: &Explanation,
    pool: &[Arc<Segmentation>],
    segmentations: &[usize],
    fused: &[(Fields<'_>, Array2<f32>, Array1<f64>)],
) -> PyResult<()> {
    for (l, (&k, level)) in segmentations
        .iter()
        .zip(explanation.segmentations())
        .enumerate()
    {
        if !(Arc::ptr_eq(&pool[k], level) || pool[k] == *level) {
            return Err(s.bad(format!(
                "'segmentations'[{l}] is {k}, but level {l} of the stacks has another label map"
            )));
        }
    }
    let fusion = explanation.fusion();
    for ((f, map, weights), stack) in fused.iter().zip(explanation.stacks()) {
        let again = explanation
            .fused_for(stack.class())
            .ok_or_else(|| f.bad("no fused map"))?;
        let same_map = map.dim() == again.heatmap.dim()
            && (map.iter().zip(again.heatmap.values())).all(|(a, b)| a.to_bits() == b.to_bits());
        if !same_map {
            return Err(f.bad(format!("'heatmap' is not the levels fused by {fusion}")));
        }
        let same_weights = weights.len() == again.weights.len()
            && (weights.iter().zip(&again.weights)).all(|(a, b)| a.to_bits() == b.to_bits());
        if !same_weights {
            return Err(f.bad(format!(
                "'weights' are not the weights of the levels fused by {fusion}"
            )));
        }
    }
    Ok(())
}

/// Rebuilds a pickled `Level` from its state.
#[pyfunction]
#[pyo3(name = "_level_from_state")]
pub(crate) fn level_from_state(state: &Bound<'_, PyAny>) -> PyResult<PyLevel> {
    let s = Fields::of(state, "Level", String::new())?;
    s.version()?;
    let labels: Array2<u32> = s.array("labels", "uint32")?;
    let labels = label_map(labels, None, "'labels'").map_err(|m| s.bad(m))?;
    Ok(PyLevel::new(level(&s, labels, None)?))
}

/// A level from its dict, with its label map; `dim`, when given, is the
/// image's size.
fn level(
    f: &Fields<'_>,
    segmentation: Arc<Segmentation>,
    dim: Option<(usize, usize)>,
) -> PyResult<LevelExplanation> {
    if let Some(dim) = dim.filter(|&d| d != segmentation.dim()) {
        return Err(f.bad(format!(
            "'labels' is {:?}, but the image is {dim:?}",
            segmentation.dim()
        )));
    }
    let actual: usize = f.value("actual")?;
    if actual != segmentation.count() {
        return Err(f.bad(format!(
            "'actual' is {actual}, but the label map has {} superpixels",
            segmentation.count()
        )));
    }
    let mut fit = Surrogate::new(
        f.array("coefficients", "float64")?,
        f.value("intercept")?,
        f.value("r2")?,
    );
    fit.local_prediction = f.value("local_prediction")?;
    fit.std_errors = match f.get("std_errors")? {
        e if e.is_none() => None,
        e => Some(array_of(&e, "'std_errors'", "float64").map_err(|m| f.bad(m))?),
    };
    let heatmap = Heatmap::new(f.array("heatmap", "float32")?);
    if heatmap.dim() != segmentation.dim() {
        return Err(f.bad(format!(
            "'heatmap' is {:?}, but 'labels' is {:?}",
            heatmap.dim(),
            segmentation.dim()
        )));
    }
    let (desired, samples, calls) = (f.value("desired")?, f.value("samples")?, f.value("calls")?);
    LevelExplanation::new(desired, segmentation, samples, calls, fit, heatmap).map_err(|e| f.bad(e))
}

/// A label map, of the image's size `dim` when given.
fn label_map(
    labels: Array2<u32>,
    dim: Option<(usize, usize)>,
    what: &str,
) -> Result<Arc<Segmentation>, String> {
    if let Some(dim) = dim.filter(|&d| d != labels.dim()) {
        return Err(format!(
            "{what} is {:?}, but the image is {dim:?}",
            labels.dim()
        ));
    }
    Segmentation::new(labels)
        .map(Arc::new)
        .map_err(|e| format!("{what}: {e}"))
}

/// An exact numpy array: `dtype` and the dimension count of `D`, nothing
/// converted (a conversion could change the bits).
fn array_of<T: Element + Clone, D: Dimension>(
    obj: &Bound<'_, PyAny>,
    what: &str,
    dtype: &str,
) -> Result<Array<T, D>, String> {
    let expected = || {
        let got = match (obj.getattr("dtype"), obj.getattr("shape")) {
            (Ok(d), Ok(s)) => format!("an array of dtype {d} and shape {s}"),
            _ => format!(
                "a {}",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| "?".into())
            ),
        };
        let ndim = D::NDIM.map_or_else(|| "an".to_string(), |n| format!("a {n}-D"));
        format!("{what} must be {ndim} {dtype} array, got {got}")
    };
    let array = obj.cast::<PyArray<T, D>>().map_err(|_| expected())?;
    let view = array.try_readonly().map_err(|e| format!("{what}: {e}"))?;
    Ok(view.as_array().to_owned())
}

/// One dict of a state, read with errors that say where.
struct Fields<'py> {
    dict: Bound<'py, PyDict>,
    /// What is unpickled: `"Explanation"` or `"Level"`.
    kind: &'static str,
    /// Where the dict is in the state (`stacks[0].levels[1]`; empty for
    /// the state itself).
    path: String,
}

impl<'py> Fields<'py> {
    fn of(obj: &Bound<'py, PyAny>, kind: &'static str, path: String) -> PyResult<Self> {
        match obj.cast::<PyDict>() {
            Ok(dict) => Ok(Fields {
                dict: dict.clone(),
                kind,
                path,
            }),
            Err(_) => {
                let type_name = obj
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| "?".into());
                Err(bad_at(
                    kind,
                    &path,
                    format!("a {type_name} where a dict belongs"),
                ))
            }
        }
    }

    /// The dict at `path` below this one.
    fn child(&self, obj: &Bound<'py, PyAny>, path: &str) -> PyResult<Self> {
        let path = if self.path.is_empty() {
            path.to_string()
        } else {
            format!("{}.{path}", self.path)
        };
        Fields::of(obj, self.kind, path)
    }

    /// `InvalidInputError`: the state is bad here.
    fn bad(&self, message: impl Display) -> PyErr {
        bad_at(self.kind, &self.path, message)
    }

    fn get(&self, key: &str) -> PyResult<Bound<'py, PyAny>> {
        self.dict
            .get_item(key)?
            .ok_or_else(|| self.bad(format!("'{key}' is missing")))
    }

    fn value<T: pyo3::conversion::FromPyObjectOwned<'py>>(&self, key: &str) -> PyResult<T> {
        self.get(key)?.extract::<T>().map_err(|e| {
            let e: PyErr = e.into();
            self.bad(format!("'{key}': {e}"))
        })
    }

    fn array<T: Element + Clone, D: Dimension>(
        &self,
        key: &str,
        dtype: &str,
    ) -> PyResult<Array<T, D>> {
        array_of(&self.get(key)?, &format!("'{key}'"), dtype).map_err(|m| self.bad(m))
    }

    fn list(&self, key: &str) -> PyResult<Bound<'py, PyList>> {
        let value = self.get(key)?;
        value
            .cast::<PyList>()
            .cloned()
            .map_err(|_| self.bad(format!("'{key}' is not a list")))
    }

    /// Refuses a state of another version.
    fn version(&self) -> PyResult<()> {
        let version: u32 = self.value("version")?;
        if version != VERSION {
            return Err(self.bad(format!(
                "state version {version}, but this multiscale_lime reads version {VERSION}"
            )));
        }
        Ok(())
    }
}

/// `InvalidInputError`: the state of a `kind` is bad at `path` (empty
/// for the state itself).
fn bad_at(kind: &str, path: &str, message: impl Display) -> PyErr {
    let at = if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    };
    crate::error::invalid(format!("cannot unpickle {kind}: {at}{message}"))
}
