//! Cascading randomisation: the trained ONNX model, then its learned
//! layers re-initialised one more at a time from the top.
//!
//! The learned layers are found by the graph: every `Conv`, `Gemm` and
//! `MatMul` node, in graph order, with those of its inputs that are
//! float initializers (weight, bias); a `MatMul`'s bias is the
//! initializer of the `Add` node that takes its output. They are named
//! `conv1`, `conv2`, … (`Conv` nodes) and `dense1`, … (the others), the
//! last one `head`.
//!
//! **Re-initialisation.** Adebayo et al. re-initialise each layer from
//! the distribution it was initialised from (for their networks, a
//! truncated normal). The ONNX file does not record that distribution, so
//! each randomised tensor is drawn from a zero-mean normal distribution
//! with the standard deviation of the tensor's trained values: the
//! weights' scale is kept (the activations stay in the range the next
//! layers saw), what was learned is not. A tensor whose values are all
//! equal becomes all zero. The draws come from one ChaCha8 stream seeded
//! with `seed`, tensor by tensor from the top layer down (weight before
//! bias), by the Box–Muller transform; the cascade is cumulative, so a
//! layer keeps the same random values at every depth that randomises it.
//! The same bytes and seed give the same models, byte for byte.

use std::collections::HashSet;

use prost::Message;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tract_onnx::pb::tensor_proto::{DataLocation, DataType};
use tract_onnx::pb::{GraphProto, ModelProto, TensorProto};

use super::{Result, SanityError};
use crate::cases::Model;

/// The operators whose initializer inputs are learned weights.
pub const LEARNED_OPS: [&str; 3] = ["Conv", "Gemm", "MatMul"];

/// One learned layer of an ONNX graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// `conv1`, `conv2`, …, `dense1`, …; the last layer is `head`.
    pub name: String,
    /// The node's operator (`Conv`, `Gemm` or `MatMul`).
    pub op: String,
    /// The names of its learned initializers (weight, then bias).
    pub tensors: Vec<String>,
}

/// The learned layers of the ONNX model `onnx`, in graph order.
///
/// # Errors
/// [`SanityError::Onnx`] when the bytes are not an ONNX model or its
/// graph has no `Conv`, `Gemm` or `MatMul` node with a float initializer.
pub fn layers(onnx: &[u8]) -> Result<Vec<Layer>> {
    let model = decode(onnx)?;
    learned_layers(graph(&model)?)
}

/// The trained model's bytes (decoded and re-encoded, so every entry went
/// through the same editor), then one entry per randomised depth: named
/// `head`, `head+conv4`, …, down to every learned layer. See the module
/// docs for how the values are drawn.
///
/// # Errors
/// [`SanityError::Onnx`] as [`layers`], and when a learned tensor is not
/// `float`, is stored outside the file, or holds a different number of
/// values than its shape says.
pub fn cascading_onnx(onnx: &[u8], seed: u64) -> Result<Vec<(String, Vec<u8>)>> {
    let mut model = decode(onnx)?;
    let layers = learned_layers(graph(&model)?)?;
    let fresh = draw(graph(&model)?, &layers, seed)?;
    let mut out = vec![("trained".to_string(), model.encode_to_vec())];
    let mut name = String::new();
    for (layer, tensors) in layers.iter().rev().zip(fresh) {
        let initializers = &mut graph_mut(&mut model)?.initializer;
        for (index, values) in tensors {
            let tensor = initializers.get_mut(index).ok_or_else(|| {
                SanityError::Onnx(format!("initializer {index} vanished while editing"))
            })?;
            write_floats(tensor, &values);
        }
        if !name.is_empty() {
            name.push('+');
        }
        name.push_str(&layer.name);
        out.push((name.clone(), model.encode_to_vec()));
    }
    Ok(out)
}

/// [`cascading_onnx`], each entry loaded by `load` (for instance
/// `|b| Ok(Arc::new(OrtClassifier::builder(96, 96).load_bytes(b)?))`).
///
/// # Errors
/// As [`cascading_onnx`]; [`SanityError::Library`] when `load` fails.
pub fn cascading_models(
    onnx: &[u8],
    seed: u64,
    load: impl Fn(&[u8]) -> multiscale_lime::Result<Model>,
) -> Result<Vec<(String, Model)>> {
    cascading_onnx(onnx, seed)?
        .into_iter()
        .map(|(name, bytes)| Ok((name, load(&bytes)?)))
        .collect()
}

fn decode(onnx: &[u8]) -> Result<ModelProto> {
    ModelProto::decode(onnx).map_err(|e| SanityError::Onnx(format!("cannot decode: {e}")))
}

fn graph(model: &ModelProto) -> Result<&GraphProto> {
    model
        .graph
        .as_ref()
        .ok_or_else(|| SanityError::Onnx("the model has no graph".into()))
}

fn graph_mut(model: &mut ModelProto) -> Result<&mut GraphProto> {
    model
        .graph
        .as_mut()
        .ok_or_else(|| SanityError::Onnx("the model has no graph".into()))
}

/// The index of the float initializer `name`, if it is one.
fn float_initializer(graph: &GraphProto, name: &str) -> Option<usize> {
    graph
        .initializer
        .iter()
        .position(|t| t.name == name && t.data_type == DataType::Float as i32)
}

/// The initializer added to a `MatMul`'s output by the `Add` node that
/// takes it, if any.
fn matmul_bias(graph: &GraphProto, output: &str) -> Option<String> {
    let add = graph
        .node
        .iter()
        .find(|n| n.op_type == "Add" && n.input.iter().any(|i| i == output))?;
    add.input
        .iter()
        .find(|i| *i != output && float_initializer(graph, i).is_some())
        .cloned()
}

fn learned_layers(graph: &GraphProto) -> Result<Vec<Layer>> {
    let mut layers = Vec::new();
    let (mut convs, mut dense) = (0, 0);
    for node in &graph.node {
        if !LEARNED_OPS.contains(&node.op_type.as_str()) {
            continue;
        }
        let mut tensors: Vec<String> = node
            .input
            .iter()
            .filter(|i| float_initializer(graph, i).is_some())
            .cloned()
            .collect();
        if tensors.is_empty() {
            continue;
        }
        if node.op_type == "MatMul" {
            let bias = node.output.first().and_then(|o| matmul_bias(graph, o));
            tensors.extend(bias);
        }
        let name = if node.op_type == "Conv" {
            convs += 1;
            format!("conv{convs}")
        } else {
            dense += 1;
            format!("dense{dense}")
        };
        layers.push(Layer {
            name,
            op: node.op_type.clone(),
            tensors,
        });
    }
    match layers.last_mut() {
        Some(last) => last.name = "head".into(),
        None => {
            return Err(SanityError::Onnx(
                "no Conv, Gemm or MatMul node with a float initializer".into(),
            ))
        }
    }
    Ok(layers)
}

/// One layer's random tensors: `(initializer index, values)`.
type Draws = Vec<(usize, Vec<f32>)>;

/// The random values of every learned tensor, per layer from the top
/// down; a tensor shared by two layers is drawn once, for the upper one.
fn draw(graph: &GraphProto, layers: &[Layer], seed: u64) -> Result<Vec<Draws>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = HashSet::new();
    let mut fresh = Vec::new();
    for layer in layers.iter().rev() {
        let mut tensors = Vec::new();
        for name in &layer.tensors {
            if !seen.insert(name.as_str()) {
                continue;
            }
            let index = float_initializer(graph, name)
                .ok_or_else(|| SanityError::Onnx(format!("no float initializer `{name}`")))?;
            let values = read_floats(&graph.initializer[index])?;
            let sd = std_dev(&values);
            let random: Vec<f32> = values
                .iter()
                .map(|_| (sd * standard_normal(&mut rng)) as f32)
                .collect();
            tensors.push((index, random));
        }
        fresh.push(tensors);
    }
    Ok(fresh)
}

/// One draw of the standard normal distribution (Box–Muller, the cosine
/// branch).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]: the logarithm is finite
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The population standard deviation; 0 for no values.
fn std_dev(values: &[f32]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    if var.is_finite() {
        var.sqrt()
    } else {
        0.0
    }
}

/// A float tensor's values, from `raw_data` (little-endian) or
/// `float_data`.
fn read_floats(tensor: &TensorProto) -> Result<Vec<f32>> {
    let name = &tensor.name;
    if tensor.data_location == Some(DataLocation::External as i32)
        || !tensor.external_data.is_empty()
    {
        return Err(SanityError::Onnx(format!(
            "`{name}` is stored outside the file"
        )));
    }
    let count = tensor.dims.iter().try_fold(1usize, |n, &d| {
        usize::try_from(d).ok().and_then(|d| n.checked_mul(d))
    });
    let Some(count) = count else {
        return Err(SanityError::Onnx(format!(
            "`{name}` has shape {:?}",
            tensor.dims
        )));
    };
    let values: Vec<f32> = if tensor.raw_data.is_empty() {
        tensor.float_data.clone()
    } else {
        tensor
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    let stored = tensor.raw_data.len().max(4 * tensor.float_data.len());
    if values.len() != count || stored != 4 * count {
        return Err(SanityError::Onnx(format!(
            "`{name}` holds {stored} bytes for shape {:?}",
            tensor.dims
        )));
    }
    Ok(values)
}

/// Replaces a float tensor's values, in the storage it had.
fn write_floats(tensor: &mut TensorProto, values: &[f32]) {
    if tensor.raw_data.is_empty() {
        tensor.float_data = values.to_vec();
    } else {
        tensor.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, dims: Vec<i64>) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims,
            data_type: DataType::Float as i32,
            ..TensorProto::default()
        }
    }

    #[test]
    fn floats_read_from_either_storage_and_written_back_in_it() {
        let mut raw = tensor("w", vec![2, 2]);
        raw.raw_data = [1.0f32, -2.0, 3.5, 0.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(read_floats(&raw).unwrap(), vec![1.0, -2.0, 3.5, 0.25]);
        write_floats(&mut raw, &[5.0, 6.0, 7.0, 8.0]);
        assert!(raw.float_data.is_empty());
        assert_eq!(read_floats(&raw).unwrap(), vec![5.0, 6.0, 7.0, 8.0]);

        let mut listed = tensor("b", vec![3]);
        listed.float_data = vec![0.5, 1.5, 2.5];
        assert_eq!(read_floats(&listed).unwrap(), vec![0.5, 1.5, 2.5]);
        write_floats(&mut listed, &[1.0, 2.0, 3.0]);
        assert!(listed.raw_data.is_empty());
        assert_eq!(listed.float_data, vec![1.0, 2.0, 3.0]);

        listed.dims = vec![4];
        assert!(matches!(read_floats(&listed), Err(SanityError::Onnx(_))));
        listed.dims = vec![-1];
        assert!(matches!(read_floats(&listed), Err(SanityError::Onnx(_))));
    }

    #[test]
    fn normal_draws_have_unit_spread() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let draws: Vec<f32> = (0..20_000)
            .map(|_| standard_normal(&mut rng) as f32)
            .collect();
        let sd = std_dev(&draws);
        let mean = draws.iter().map(|&v| f64::from(v)).sum::<f64>() / draws.len() as f64;
        assert!((sd - 1.0).abs() < 0.03 && mean.abs() < 0.03, "{mean} {sd}");
        assert_eq!(std_dev(&[2.0, 2.0]), 0.0);
        assert_eq!(std_dev(&[1.0, 3.0]), 1.0);
    }
}
