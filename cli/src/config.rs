//! The explainer's flags, made from the library's settings table
//! (`Config::SETTINGS`): one flag per setting, named as the setting, its
//! default and grammar the library's. Nothing about a setting is restated
//! here, so the command line cannot drift from the library.

use clap::builder::PossibleValuesParser;
use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use multiscale_lime::{Config, Preset};

/// `--preset` and one flag per library setting, read into a [`Config`].
#[derive(Debug, Clone)]
pub(crate) struct ConfigArgs {
    /// The preset the settings started from.
    pub(crate) preset: Preset,
    /// The settings: the preset's, with every flag given applied.
    pub(crate) config: Config,
}

/// The help line of a setting: what it does, its choices, the recommended
/// default and, where it differs, the paper's.
fn help(name: &str, what: &str, choices: &[&str]) -> String {
    let default = Config::default().get(name);
    let paper = Preset::Paper.config().get(name);
    let mut chars = what.chars();
    let mut text: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !choices.is_empty() {
        text.push_str(&format!(" [choices: {}]", choices.join(", ")));
    }
    if let Some(d) = &default {
        text.push_str(&format!(" [default: {d}]"));
    }
    if let Some(p) = paper.as_ref().filter(|_| paper != default) {
        text.push_str(&format!(" [paper: {p}]"));
    }
    text
}

impl Args for ConfigArgs {
    fn augment_args(cmd: Command) -> Command {
        let presets: Vec<&'static str> = Preset::ALL.iter().map(|p| p.name()).collect();
        let mut cmd = cmd.arg(
            Arg::new("preset")
                .long("preset")
                .value_name("NAME")
                .value_parser(PossibleValuesParser::new(presets))
                .help(format!(
                    "Where every setting starts: recommended (measured most faithful at the \
                     fewest model calls) or paper (Hajian & Ebrahimi's setting exactly); \
                     the flags below override it [default: {}]",
                    Preset::default()
                )),
        );
        for setting in Config::SETTINGS {
            let name = setting.name;
            let mut arg = Arg::new(name)
                .long(name)
                .value_name("VALUE")
                .help(help(name, setting.help, setting.choices))
                // Checked as the library reads it, so a bad value is a
                // usage error naming the flag.
                .value_parser(move |value: &str| {
                    Config::default()
                        .set(name, value)
                        .map(|()| value.to_string())
                        .map_err(|e| e.to_string())
                });
            if name == "samples" {
                arg = arg.conflicts_with("samples-per-segment");
            }
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for ConfigArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let preset = match matches.get_one::<String>("preset") {
            Some(name) => name.parse().map_err(|e: multiscale_lime::Error| {
                clap::Error::raw(clap::error::ErrorKind::InvalidValue, e)
            })?,
            None => Preset::default(),
        };
        let mut config = preset.config();
        for setting in Config::SETTINGS {
            if matches.value_source(setting.name) != Some(ValueSource::CommandLine) {
                continue;
            }
            if let Some(value) = matches.get_one::<String>(setting.name) {
                config.set(setting.name, value).map_err(|e| {
                    clap::Error::raw(
                        clap::error::ErrorKind::InvalidValue,
                        format!("--{}: {e}\n", setting.name),
                    )
                })?;
            }
        }
        Ok(ConfigArgs { preset, config })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}
