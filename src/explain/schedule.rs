//! [`Schedule`]: how the model calls are spent across the levels.

use std::fmt;
use std::str::FromStr;

use super::{Adaptive, StopRule};
use crate::error::{Error, Result};

/// How an explainer spends its model calls across the levels.
///
/// Its text form is what `mslime --schedule` and Python's `schedule=`
/// take, and what [`Display`](fmt::Display) writes back: `per-level`,
/// `shared-passes`, `until-stability:P` or `until-top-k:K`, the adaptive
/// ones optionally followed by `,start=M` and `,step=M` (samples per
/// superpixel of the first round and added per round; default 2 and 1).
///
/// ```
/// use multiscale_lime::{Adaptive, Schedule};
///
/// assert_eq!("per-level".parse::<Schedule>()?, Schedule::PerLevel);
/// let s: Schedule = "until-stability:0.98,step=2".parse()?;
/// assert_eq!(s, Schedule::Adaptive(Adaptive::stability(0.98)?.with_step(2)?));
/// assert_eq!(s.to_string(), "until-stability:0.98,start=2,step=2");
/// assert!("until-stability:1.5".parse::<Schedule>().is_err());
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum Schedule {
    /// Each level draws its whole sample count and is fitted on its own
    /// passes (the paper's; the default).
    #[default]
    PerLevel,
    /// Every level is fitted on the passes of all levels: a pass drawn at
    /// one level is seen by every other as the share of each of its
    /// superpixels left visible, so each level learns from the model calls
    /// of all, at no extra call.
    SharedPasses,
    /// Each level adds samples in rounds until its map is settled; the
    /// sample count is the budget ([`Adaptive`]).
    Adaptive(Adaptive),
}

impl Schedule {
    /// The schedule names the text form starts with.
    pub const NAMES: [&'static str; 4] = [
        "per-level",
        "shared-passes",
        "until-stability",
        "until-top-k",
    ];

    /// The adaptive rule, if the schedule is adaptive.
    pub fn adaptive(&self) -> Option<Adaptive> {
        match self {
            Schedule::Adaptive(a) => Some(*a),
            _ => None,
        }
    }
}

impl From<Adaptive> for Schedule {
    fn from(adaptive: Adaptive) -> Self {
        Schedule::Adaptive(adaptive)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::PerLevel => f.write_str("per-level"),
            Schedule::SharedPasses => f.write_str("shared-passes"),
            Schedule::Adaptive(a) => {
                match a.rule() {
                    StopRule::Stability(p) => write!(f, "until-stability:{p}")?,
                    StopRule::TopK(k) => write!(f, "until-top-k:{k}")?,
                }
                write!(f, ",start={},step={}", a.start(), a.step())
            }
        }
    }
}

impl FromStr for Schedule {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "schedule",
                s,
                "per-level, shared-passes, until-stability:P or until-top-k:K, \
                 optionally with ,start=M and ,step=M",
            )
        };
        let (name, rest) = match s.split_once(':') {
            Some((name, rest)) => (name, Some(rest)),
            None => (s, None),
        };
        let rest = match (name, rest) {
            ("per-level", None) => return Ok(Schedule::PerLevel),
            ("shared-passes", None) => return Ok(Schedule::SharedPasses),
            ("until-stability" | "until-top-k", Some(rest)) => rest,
            _ => return Err(bad()),
        };
        let mut parts = rest.split(',');
        let value = parts.next().unwrap_or_default().trim();
        let mut adaptive = match name {
            "until-stability" => Adaptive::stability(value.parse().map_err(|_| bad())?)?,
            _ => Adaptive::top_k(value.parse().map_err(|_| bad())?)?,
        };
        for part in parts {
            let (key, m) = part.split_once('=').ok_or_else(bad)?;
            let m: usize = m.trim().parse().map_err(|_| bad())?;
            adaptive = match key.trim() {
                "start" => adaptive.with_start(m)?,
                "step" => adaptive.with_step(m)?,
                _ => return Err(bad()),
            };
        }
        Ok(Schedule::Adaptive(adaptive))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_parse_and_bad_forms_are_refused() {
        assert_eq!(
            "shared-passes".parse::<Schedule>().unwrap(),
            Schedule::SharedPasses
        );
        assert_eq!(
            "until-top-k:5".parse::<Schedule>().unwrap(),
            Schedule::Adaptive(Adaptive::top_k(5).unwrap())
        );
        for bad in [
            "",
            "per-level:1",
            "until-stability",
            "until-stability:x",
            "until-top-k:0",
            "until-top-k:3,start=0",
            "until-top-k:3,begin=2",
            "until-top-k:3,start",
            "adaptive",
        ] {
            let e = bad.parse::<Schedule>();
            assert!(e.is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn text_form_round_trips(p in 0.001f64..0.999, k in 1usize..50,
                                 start in 1usize..9, step in 1usize..9) {
            for a in [Adaptive::stability(p).unwrap(), Adaptive::top_k(k).unwrap()] {
                let s = Schedule::Adaptive(a.with_start(start).unwrap().with_step(step).unwrap());
                prop_assert_eq!(s.to_string().parse::<Schedule>().unwrap(), s);
            }
        }
    }
}
