//! The command line's own value parsers: colours, execution providers,
//! shards (the explainer's settings parse with the library's grammars). Each answers a bad value with a message naming it.
//!
//! This file uses nothing of the binary's own, so the fuzz target
//! `cli_input` compiles it as it is.

use std::str::FromStr;

use multiscale_lime::onnx::ExecutionProvider;

/// `i/n`: the images whose index in the sorted list is `i` modulo `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    pub(crate) index: usize,
    pub(crate) count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a shard i/n with 0 ≤ i < n");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Three comma-separated numbers.
pub(crate) fn parse_rgb(s: &str) -> Result<[f32; 3], String> {
    let parts: Vec<f32> = s
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("`{s}` holds something that is not a number"))?;
    <[f32; 3]>::try_from(parts.as_slice()).map_err(|_| {
        format!(
            "`{s}` needs exactly three values R,G,B, got {}",
            parts.len()
        )
    })
}

/// `cpu`, `cuda[:GPU]`, `tensorrt[:GPU]` or `coreml`.
pub(crate) fn parse_provider(s: &str) -> Result<ExecutionProvider, String> {
    let (name, device) = match s.split_once(':') {
        Some((name, id)) => {
            let id = id
                .parse::<u32>()
                .ok()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| format!("`{id}` is not a GPU index (0, 1, ...)"))?;
            (name, Some(id))
        }
        None => (s, None),
    };
    let device_id = device.unwrap_or(0);
    match (name.to_ascii_lowercase().as_str(), device) {
        ("cpu", None) => Ok(ExecutionProvider::Cpu),
        ("cuda", _) => Ok(ExecutionProvider::Cuda { device_id }),
        ("tensorrt", _) => Ok(ExecutionProvider::TensorRt { device_id }),
        ("coreml", None) => Ok(ExecutionProvider::CoreMl),
        _ => Err(format!(
            "`{s}` is not cpu, cuda[:GPU], tensorrt[:GPU] or coreml"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_reject() {
        assert_eq!(parse_rgb(" 0.5, 1,0 "), Ok([0.5, 1.0, 0.0]));
        assert!(parse_rgb("1,2").unwrap_err().contains("got 2"));
        assert!(parse_rgb("a,b,c").is_err());
    }

    #[test]
    fn providers_parse_and_reject() {
        assert_eq!(parse_provider("cpu"), Ok(ExecutionProvider::Cpu));
        assert_eq!(
            parse_provider("CUDA:1"),
            Ok(ExecutionProvider::Cuda { device_id: 1 })
        );
        for bad in ["cuda:-1", "cuda:x", "cpu:0", "tpu", "tensorrt:4294967295"] {
            assert!(parse_provider(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_parse_and_reject() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        for bad in ["5/5", "1/0", "x/2", "3", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
