//! [`Fusion`]: the built-in fusion rules as one value an explainer carries,
//! with one text form for the command line, Python and resume digests.

use std::fmt;
use std::str::FromStr;

use super::{CombinedHeatmap, Combiner, CustomWeights, Density, Feathered, Gaussian};
use super::{InverseTrapezoid, Trapezoid, Uniform};
use crate::error::{Error, Result};
use crate::heatmap::HeatmapStack;
use crate::text::{join_list, parse_list};

/// The fusion rule an explainer applies to every explained class
/// ([`Explanation::fused`](crate::Explanation::fused)): one of the
/// built-in [`Combiner`]s as a plain value.
///
/// Its text form is what `mslime --fusion` and Python's `fusion=` take, and
/// what [`Display`](fmt::Display) writes back: `trapezoid`, `inverse`,
/// `uniform`, `density`, `feathered` (width 0.3) or `feathered:WIDTH`,
/// `gaussian` (mean 1, std 0.5) or `gaussian:MEAN,STD`, and
/// `weights:W1,W2,…` (one weight per level).
///
/// ```
/// use multiscale_lime::Fusion;
///
/// assert_eq!("density".parse::<Fusion>()?, Fusion::Density);
/// assert_eq!("gaussian".parse::<Fusion>()?, Fusion::Gaussian { mean: 1.0, std: 0.5 });
/// assert_eq!("feathered:0.5".parse::<Fusion>()?, Fusion::Feathered { width: 0.5 });
/// let weights: Fusion = "weights:1,0,2".parse()?;
/// assert_eq!(weights.to_string(), "weights:1,0,2");
/// assert!("median".parse::<Fusion>().is_err());
/// assert!("gaussian:1,-1".parse::<Fusion>().is_err()); // std must be > 0
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Fusion {
    /// [`Trapezoid`]: the paper's rule, fine levels weigh more.
    Trapezoid,
    /// [`InverseTrapezoid`]: coarse levels weigh more.
    Inverse,
    /// [`Gaussian`] over the normalised log counts.
    Gaussian {
        /// Centre on the normalised log scale (0 coarsest, 1 finest).
        mean: f64,
        /// Width, > 0.
        std: f64,
    },
    /// [`Uniform`]: every level the same.
    Uniform,
    /// [`Density`]: relevance per pixel averaged over the levels (the
    /// default).
    #[default]
    Density,
    /// [`Feathered`]: `Density` with each level's superpixel borders
    /// blurred by `width` times its mean superpixel side (text form
    /// `feathered` for the default 0.3, `feathered:WIDTH`).
    Feathered {
        /// Share of a level's mean superpixel side, in `[0, 10]`.
        width: f64,
    },
    /// [`CustomWeights`]: one non-negative weight per level.
    Weights(Vec<f64>),
}

impl Fusion {
    /// The rule names the text form starts with.
    pub const NAMES: [&'static str; 7] = [
        "trapezoid",
        "inverse",
        "gaussian",
        "uniform",
        "density",
        "feathered",
        "weights",
    ];

    /// The rule's name (its text form without parameters).
    pub fn name(&self) -> &'static str {
        match self {
            Fusion::Trapezoid => "trapezoid",
            Fusion::Inverse => "inverse",
            Fusion::Gaussian { .. } => "gaussian",
            Fusion::Uniform => "uniform",
            Fusion::Density => "density",
            Fusion::Feathered { .. } => "feathered",
            Fusion::Weights(_) => "weights",
        }
    }

    /// Checks the rule's parameters for an explainer of `levels` levels.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a Gaussian width that is not finite
    /// and > 0, a centre that is not finite, weights that are not finite
    /// and ≥ 0, or a number of weights other than `levels`.
    pub fn validate(&self, levels: usize) -> Result<()> {
        // The combiner's own constructors check the parameters.
        self.combiner()?;
        match self {
            Fusion::Weights(w) if w.len() != levels => Err(Error::invalid(
                "fusion",
                format!("{self} for {levels} levels"),
                "one weight per level",
            )),
            _ => Ok(()),
        }
    }

    /// The combiner this rule names.
    fn combiner(&self) -> Result<Box<dyn Combiner>> {
        Ok(match self {
            Fusion::Trapezoid => Box::new(Trapezoid),
            Fusion::Inverse => Box::new(InverseTrapezoid),
            Fusion::Gaussian { mean, std } => Box::new(Gaussian::new(*mean, *std)?),
            Fusion::Uniform => Box::new(Uniform),
            Fusion::Density => Box::new(Density),
            Fusion::Feathered { width } => Box::new(Feathered::new(*width)?),
            Fusion::Weights(w) => Box::new(CustomWeights::new(w.clone())?),
        })
    }
}

impl Combiner for Fusion {
    fn weights(&self, counts: &[usize]) -> Result<Vec<f64>> {
        self.combiner()?.weights(counts)
    }

    fn combine(&self, stack: &HeatmapStack) -> Result<CombinedHeatmap> {
        self.combiner()?.combine(stack)
    }
}

impl fmt::Display for Fusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fusion::Gaussian { mean, std } => write!(f, "gaussian:{mean},{std}"),
            Fusion::Weights(w) => write!(f, "weights:{}", join_list(w)),
            Fusion::Feathered { width } if *width == Feathered::DEFAULT_WIDTH => {
                f.write_str("feathered")
            }
            Fusion::Feathered { width } => write!(f, "feathered:{width}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Fusion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "fusion",
                s,
                "trapezoid, inverse, uniform, density, feathered[:WIDTH], gaussian[:MEAN,STD] or weights:W1,W2,… (numbers)",
            )
        };
        let (name, params) = match s.split_once(':') {
            Some((name, params)) => (name, Some(params)),
            None => (s, None),
        };
        let numbers = |p: &str| parse_list::<f64>(p).ok_or_else(bad);
        let fusion = match (name, params) {
            ("trapezoid", None) => Fusion::Trapezoid,
            ("inverse", None) => Fusion::Inverse,
            ("uniform", None) => Fusion::Uniform,
            ("density", None) => Fusion::Density,
            ("gaussian", None) => Fusion::Gaussian {
                mean: 1.0,
                std: 0.5,
            },
            ("gaussian", Some(p)) => match numbers(p)?.as_slice() {
                &[mean, std] => Fusion::Gaussian { mean, std },
                _ => return Err(bad()),
            },
            ("feathered", None) => Fusion::Feathered {
                width: Feathered::DEFAULT_WIDTH,
            },
            ("feathered", Some(p)) => match numbers(p)?.as_slice() {
                &[width] => Fusion::Feathered { width },
                _ => return Err(bad()),
            },
            ("weights", Some(p)) => Fusion::Weights(numbers(p)?),
            _ => return Err(bad()),
        };
        fusion.combiner()?;
        Ok(fusion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_name_parses_to_itself() {
        for name in Fusion::NAMES {
            let text = if name == "weights" {
                "weights:1,2".to_string()
            } else {
                name.to_string()
            };
            let fusion: Fusion = text.parse().unwrap();
            assert_eq!(fusion.name(), name);
            assert_eq!(fusion.to_string().parse::<Fusion>().unwrap(), fusion);
        }
        for bad in [
            "",
            "density:1",
            "weights",
            "weights:",
            "gaussian:1",
            "trap",
            "feathered:",
            "feathered:1,2",
            "feathered:-0.1",
            "feathered:nan",
        ] {
            assert!(bad.parse::<Fusion>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn text_form_round_trips(mean in -5.0f64..5.0, std in 1e-3f64..5.0,
                                 w in proptest::collection::vec(0.0f64..10.0, 1..6)) {
            for fusion in [
                Fusion::Gaussian { mean, std },
                Fusion::Weights(w.clone()),
                Fusion::Feathered { width: std },
            ] {
                prop_assert_eq!(fusion.to_string().parse::<Fusion>().unwrap(), fusion);
            }
        }
    }
}
