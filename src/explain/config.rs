//! [`Preset`] and [`Config`]: every setting of the standard pipeline as
//! plain data, with one name, one default and one text form each. The
//! builder's defaults, `mslime`'s flags and Python's keywords all come
//! from here.

use std::fmt;
use std::str::FromStr;

use super::Schedule;
use super::{BatchSize, Limits, MultiScaleLime, MultiScaleLimeBuilder, Response, SampleCount};
use crate::combine::Fusion;
use crate::error::{Error, Result};
use crate::heatmap::Normalization;
use crate::perturb::{HideColor, Sampling};
use crate::text::{join_list, parse_list};

/// A named starting point for every setting.
///
/// [`Recommended`](Preset::Recommended) is the default everywhere (the
/// builder, `mslime`, Python): the setting the project's faithfulness and
/// sampling benchmarks measure best at the fewest model calls
/// (`docs/faithfulness.md`, `docs/sampling.md`). [`Paper`](Preset::Paper)
/// is Hajian & Ebrahimi's setting exactly, as earlier versions of this
/// crate defaulted to.
///
/// | setting | `Recommended` | `Paper` |
/// |---|---|---|
/// | levels | 10, 25, 50, 100, 200 | 10, 25, 50, 100, 200 |
/// | compactness | 20 | 5 |
/// | samples per superpixel | 2 | 10 |
/// | sampling | [`Sampling::Orthogonal`] | [`Sampling::Independent`] |
/// | response | [`Response::Auto`] (log-odds of probabilities) | [`Response::Score`] |
/// | fusion | [`Fusion::Density`] | [`Fusion::Trapezoid`] |
/// | everything else | as `Paper` | black hide colour, kernel width 0.25, ridge α 1, min-max maps, per-level schedule, [`Limits::default`] |
///
/// ```
/// use multiscale_lime::{Config, MultiScaleLime, Preset};
///
/// assert_eq!(Preset::default(), Preset::Recommended);
/// let paper = MultiScaleLime::preset(Preset::Paper).build()?;
/// assert_eq!(paper.segmenter().compactness(), 5.0);
/// assert_eq!("paper".parse::<Preset>()?, Preset::Paper);
/// assert_eq!(Config::default(), Preset::Recommended.config());
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// The measured setting (the default).
    #[default]
    Recommended,
    /// The paper's setting, bit for bit what this crate computed before
    /// presets existed.
    Paper,
}

impl Preset {
    /// Every preset, in the order of their names.
    pub const ALL: [Preset; 2] = [Preset::Recommended, Preset::Paper];

    /// The name `mslime --preset` and Python's `preset=` take.
    pub fn name(&self) -> &'static str {
        match self {
            Preset::Recommended => "recommended",
            Preset::Paper => "paper",
        }
    }

    /// The preset's settings.
    pub fn config(&self) -> Config {
        let paper = Config {
            levels: vec![10, 25, 50, 100, 200],
            compactness: 5.0,
            samples: SampleCount::PerSegment(10),
            sampling: Sampling::Independent,
            response: Response::Score,
            schedule: Schedule::PerLevel,
            hide_color: HideColor::Constant([0.0; 3]),
            fusion: Fusion::Trapezoid,
            kernel_width: 0.25,
            ridge_alpha: 1.0,
            normalization: Normalization::MinMax,
            limits: Limits::default(),
            seed: 0,
            batch_size: BatchSize::Auto,
        };
        match self {
            Preset::Paper => paper,
            Preset::Recommended => Config {
                compactness: 20.0,
                samples: SampleCount::PerSegment(2),
                sampling: Sampling::Orthogonal,
                response: Response::Auto,
                fusion: Fusion::Density,
                ..paper
            },
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| Error::invalid("preset", s, "recommended or paper"))
    }
}

/// Every user-choosable setting of the standard pipeline ([`Slic`](crate::Slic)
/// superpixels, [`BernoulliPerturber`](crate::BernoulliPerturber) masks,
/// [`Ridge`](crate::Ridge) surrogates) as plain data.
///
/// Each setting has one name (the [`SETTINGS`](Config::SETTINGS) table,
/// spelled as `mslime`'s flag; Python's keyword is the same with `_` for
/// `-`), one default (the [`Preset`]'s) and one text form, read by
/// [`set`](Config::set) and written by [`get`](Config::get). The whole
/// configuration prints as `name=value` pairs ([`Display`](fmt::Display))
/// and parses back ([`FromStr`], from the defaults); [`canonical`](Config::canonical)
/// keeps only the settings that change results, which is what `mslime
/// batch` hashes to decide whether earlier outputs can be kept.
///
/// ```
/// use multiscale_lime::{Config, Preset};
///
/// let mut config = Preset::Paper.config();
/// config.set("fusion", "density")?;
/// config.set("seed", "7")?;
/// assert_eq!(config.get("fusion").as_deref(), Some("density"));
/// let text = config.to_string();
/// assert!(text.starts_with("levels=10,25,50,100,200 compactness=5 samples-per-segment=10"));
/// assert_eq!(text.parse::<Config>()?, config);
/// // A batch size changes no bit of the result, so it is not canonical.
/// let mut batched = config.clone();
/// batched.set("batch-size", "7")?;
/// assert_eq!(batched.canonical(), config.canonical());
/// assert!(config.set("sampling", "sobol").is_err());
/// let lime = config.build()?;
/// assert_eq!(lime.seed(), 7);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Desired superpixels per level, coarse to fine.
    pub levels: Vec<usize>,
    /// SLIC compactness of every level.
    pub compactness: f64,
    /// Samples per level.
    pub samples: SampleCount,
    /// How each level's masks are drawn.
    pub sampling: Sampling,
    /// What each level's surrogate regresses.
    pub response: Response,
    /// How the model calls are spent across the levels.
    pub schedule: Schedule,
    /// What hidden superpixels show.
    pub hide_color: HideColor,
    /// How the level heatmaps are fused.
    pub fusion: Fusion,
    /// Width of the proximity kernel on cosine distance.
    pub kernel_width: f64,
    /// The ridge penalty.
    pub ridge_alpha: f64,
    /// How a level's coefficients become heatmap values.
    pub normalization: Normalization,
    /// Bounds on what one explanation may allocate (its pixels, a level's
    /// segments and mask entries, a batch buffer's bytes).
    pub limits: Limits,
    /// The seed every random choice flows from.
    pub seed: u64,
    /// Images per classifier call.
    pub batch_size: BatchSize,
}

impl Default for Config {
    /// [`Preset::Recommended`]'s settings.
    fn default() -> Self {
        Preset::default().config()
    }
}

/// One setting of [`Config`]: its name, what it does, its choices and
/// whether it changes results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Setting {
    /// The name: `mslime`'s flag without `--`, Python's keyword with `_`
    /// for `-`.
    pub name: &'static str,
    /// What the setting does, in one line.
    pub help: &'static str,
    /// The names a value starts with, for a setting that chooses among
    /// named rules; empty for a number or list.
    pub choices: &'static [&'static str],
    /// Whether the setting can change an explanation's numbers (the batch
    /// size and the limits cannot).
    pub changes_results: bool,
}

const fn setting(
    name: &'static str,
    help: &'static str,
    choices: &'static [&'static str],
    changes_results: bool,
) -> Setting {
    Setting {
        name,
        help,
        choices,
        changes_results,
    }
}

impl Config {
    /// Every setting, in the order [`Display`](fmt::Display) writes them.
    pub const SETTINGS: [Setting; 18] = [
        setting("levels", "desired superpixels per level, coarse to fine, comma-separated", &[], true),
        setting("compactness", "SLIC compactness: higher gives more regular, square superpixels", &[], true),
        setting("samples-per-segment", "perturbed samples per actual superpixel at each level (n = m·s')", &[], true),
        setting("samples", "the same number of samples n at every level, instead of samples-per-segment", &[], true),
        setting(
            "sampling",
            "how each level's masks are drawn: independent coins (the paper's), antithetic pairs, balanced columns or orthogonal arrays",
            &["independent", "antithetic", "balanced", "orthogonal"],
            true,
        ),
        setting(
            "response",
            "what each level's surrogate regresses: auto (log-odds when the model scores the image as a probability, else the score), the score, or the log-odds ln(p/(1-p))",
            &["auto", "score", "log-odds"],
            true,
        ),
        setting(
            "schedule",
            "how model calls are spent: per-level (the paper's), shared-passes, until-stability:P or until-top-k:K [,start=M][,step=M] (adaptive rounds; the sample count is the budget)",
            &["per-level", "shared-passes", "until-stability", "until-top-k"],
            true,
        ),
        setting(
            "hide-color",
            "what hidden superpixels show: black, white, mean, blur, blur:SIGMA or R,G,B in [0, 1]",
            &["black", "white", "mean", "blur"],
            true,
        ),
        setting(
            "fusion",
            "how the level heatmaps are fused: density, feathered[:WIDTH] (density with superpixel borders blurred), trapezoid (the paper's), inverse, uniform, gaussian[:MEAN,STD] or weights:W1,W2,...",
            &["trapezoid", "inverse", "gaussian", "uniform", "density", "feathered", "weights"],
            true,
        ),
        setting("kernel-width", "width of LIME's exponential kernel on cosine distance", &[], true),
        setting("ridge-alpha", "the ridge penalty of each level's surrogate", &[], true),
        setting(
            "normalization",
            "how a level's coefficients become heatmap values",
            &["minmax", "positive", "maxabs"],
            true,
        ),
        setting("max-pixels", "largest image explained, in pixels (width × height); checked before decoding", &[], false),
        setting("max-segments", "most superpixels one level may have", &[], false),
        setting("max-mask-entries", "most mask entries (samples × superpixels) one level may draw", &[], false),
        setting("max-batch-bytes", "most bytes one batch buffer of perturbed images may take", &[], false),
        setting("seed", "seed of every random choice", &[], true),
        setting("batch-size", "images per model call: auto (about 1 MiB of images) or a number", &[], false),
    ];

    /// The setting's value in its text form; `None` for a name not in
    /// [`SETTINGS`](Config::SETTINGS), and for whichever of
    /// `samples-per-segment` and `samples` is not in use.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "levels" => join_list(&self.levels),
            "compactness" => self.compactness.to_string(),
            "samples-per-segment" => match self.samples {
                SampleCount::PerSegment(m) => m.to_string(),
                SampleCount::Fixed(_) => return None,
            },
            "samples" => match self.samples {
                SampleCount::Fixed(n) => n.to_string(),
                SampleCount::PerSegment(_) => return None,
            },
            "sampling" => self.sampling.to_string(),
            "response" => self.response.to_string(),
            "schedule" => self.schedule.to_string(),
            "hide-color" => self.hide_color.to_string(),
            "fusion" => self.fusion.to_string(),
            "kernel-width" => self.kernel_width.to_string(),
            "ridge-alpha" => self.ridge_alpha.to_string(),
            "normalization" => self.normalization.to_string(),
            "max-pixels" => self.limits.pixels().to_string(),
            "max-segments" => self.limits.segments().to_string(),
            "max-mask-entries" => self.limits.mask_entries().to_string(),
            "max-batch-bytes" => self.limits.batch_bytes().to_string(),
            "seed" => self.seed.to_string(),
            "batch-size" => self.batch_size.to_string(),
            _ => return None,
        })
    }

    /// Sets one setting from its text form (`_` may stand for `-` in the
    /// name). Values are checked as far as they can be alone; the rest
    /// (e.g. fusion weights against the levels) by [`build`](Config::build).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the setting and the value, for an
    /// unknown name or a value its grammar does not read.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let name = name.replace('_', "-");
        let value = value.trim();
        fn number(name: &'static str, value: &str) -> Result<f64> {
            value
                .parse()
                .map_err(|_| Error::invalid(name, value, "a number"))
        }
        fn whole<T: FromStr>(name: &'static str, value: &str) -> Result<T> {
            value
                .parse()
                .map_err(|_| Error::invalid(name, value, "a whole number ≥ 0"))
        }
        match name.as_str() {
            "levels" => {
                self.levels = parse_list(value).ok_or_else(|| {
                    Error::invalid("levels", value, "comma-separated segment counts")
                })?;
            }
            "compactness" => self.compactness = number("compactness", value)?,
            "samples-per-segment" => {
                self.samples = SampleCount::PerSegment(whole("samples_per_segment", value)?)
            }
            "samples" => self.samples = SampleCount::Fixed(whole("samples", value)?),
            "sampling" => self.sampling = value.parse()?,
            "response" => self.response = value.parse()?,
            "schedule" => self.schedule = value.parse()?,
            "hide-color" => self.hide_color = value.parse()?,
            "fusion" => self.fusion = value.parse()?,
            "kernel-width" => self.kernel_width = number("kernel_width", value)?,
            "ridge-alpha" => self.ridge_alpha = number("ridge_alpha", value)?,
            "normalization" => self.normalization = value.parse()?,
            "max-pixels" => self.limits = self.limits.max_pixels(whole("max_pixels", value)?),
            "max-segments" => {
                self.limits = self.limits.max_segments(whole("max_segments", value)?)
            }
            "max-mask-entries" => {
                self.limits = self.limits.max_mask_entries(whole("max_mask_entries", value)?)
            }
            "max-batch-bytes" => {
                self.limits = self.limits.max_batch_bytes(whole("max_batch_bytes", value)?)
            }
            "seed" => self.seed = whole("seed", value)?,
            "batch-size" => self.batch_size = value.parse()?,
            _ => {
                return Err(Error::invalid(
                    "setting",
                    name,
                    "one of Config::SETTINGS (levels, compactness, samples-per-segment, samples, sampling, response, schedule, hide-color, fusion, kernel-width, ridge-alpha, normalization, max-pixels, max-segments, max-mask-entries, max-batch-bytes, seed, batch-size)",
                ))
            }
        }
        Ok(())
    }

    /// The settings that change results, as `name=value` pairs: two
    /// configurations with the same canonical form give the same
    /// explanation, bit for bit.
    pub fn canonical(&self) -> String {
        self.pairs(|s| s.changes_results)
    }

    fn pairs(&self, keep: impl Fn(&Setting) -> bool) -> String {
        Config::SETTINGS
            .iter()
            .filter(|s| keep(s))
            .filter_map(|s| self.get(s.name).map(|v| format!("{}={v}", s.name)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A builder holding these settings (unchecked until its `build`).
    pub fn builder(&self) -> MultiScaleLimeBuilder {
        MultiScaleLimeBuilder::from_config(self)
    }

    /// The explainer these settings describe.
    ///
    /// # Errors
    /// As [`MultiScaleLimeBuilder::build`].
    pub fn build(&self) -> Result<MultiScaleLime> {
        self.builder().build()
    }
}

impl fmt::Display for Config {
    /// Every setting in use, as `name=value` pairs separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pairs(|_| true))
    }
}

impl FromStr for Config {
    type Err = Error;

    /// `name=value` pairs separated by whitespace, applied in order to
    /// [`Config::default`]. An optional first pair `preset=NAME` starts
    /// from that preset instead.
    fn from_str(s: &str) -> Result<Self> {
        let mut config = Config::default();
        for (i, pair) in s.split_whitespace().enumerate() {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| Error::invalid("setting", pair, "name=value"))?;
            if name == "preset" && i == 0 {
                config = value.parse::<Preset>()?.config();
            } else {
                config.set(name, value)?;
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_round_trips_through_its_text_form() {
        for preset in Preset::ALL {
            let config = preset.config();
            for s in Config::SETTINGS {
                let Some(text) = config.get(s.name) else {
                    continue;
                };
                let mut other = Config::default();
                other.set(s.name, &text).unwrap();
                assert_eq!(other.get(s.name), Some(text), "{}", s.name);
            }
            assert_eq!(config.to_string().parse::<Config>().unwrap(), config);
            let from_preset = format!("preset={preset} seed=3");
            assert_eq!(from_preset.parse::<Config>().unwrap().seed, 3);
        }
    }

    #[test]
    fn unknown_names_and_bad_values_name_themselves() {
        let mut c = Config::default();
        let e = c.set("colour", "red").unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
        let e = c.set("levels", "10,x").unwrap_err().to_string();
        assert!(e.contains("10,x"), "{e}");
        let e = c.set("seed", "-1").unwrap_err().to_string();
        assert!(e.contains("-1"), "{e}");
        assert!("seed".parse::<Config>().is_err());
        assert!("seed=1 preset=paper".parse::<Config>().is_err());
        // The unknown-name message lists every setting.
        let e = c.set("colour", "red").unwrap_err().to_string();
        for s in Config::SETTINGS {
            assert!(e.contains(s.name), "{} missing from: {e}", s.name);
        }
        let e = c.set("seed", "1.5").unwrap_err().to_string();
        assert!(e.contains("whole number"), "{e}");
        // Python's spelling of a name is accepted.
        c.set("kernel_width", "0.5").unwrap();
        assert_eq!(c.kernel_width, 0.5);
    }

    #[test]
    fn choices_are_the_names_the_grammars_read() {
        let choices = |name: &str| {
            Config::SETTINGS
                .iter()
                .find(|s| s.name == name)
                .unwrap()
                .choices
                .to_vec()
        };
        let names = |v: Vec<&'static str>| v;
        assert_eq!(
            choices("sampling"),
            names(Sampling::ALL.iter().map(|s| s.name()).collect())
        );
        assert_eq!(
            choices("response"),
            names(Response::ALL.iter().map(|r| r.name()).collect())
        );
        assert_eq!(
            choices("normalization"),
            names(Normalization::ALL.iter().map(|n| n.name()).collect())
        );
        assert_eq!(choices("fusion"), Fusion::NAMES.to_vec());
        assert_eq!(choices("schedule"), Schedule::NAMES.to_vec());
        for c in choices("hide-color") {
            assert!(c.parse::<HideColor>().is_ok(), "{c}");
        }
    }
}
