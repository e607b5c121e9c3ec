//! The explainer the settings describe.

use multiscale_lime::{Config, MultiScaleLime};
use serde_json::json;

use crate::LimeArgs;

/// The explainer the settings describe, validated once.
pub(crate) struct Plan {
    pub(crate) lime: MultiScaleLime,
    pub(crate) args: LimeArgs,
}

impl Plan {
    pub(crate) fn new(args: &LimeArgs) -> Result<Plan, String> {
        let lime = args.config().build().map_err(|e| e.to_string())?;
        if !(args.keep_fraction > 0.0 && args.keep_fraction <= 1.0) {
            return Err(format!(
                "--keep-fraction {} must lie in (0, 1]",
                args.keep_fraction
            ));
        }
        Ok(Plan {
            lime,
            args: args.clone(),
        })
    }

    /// The settings, one JSON field per setting in use, as the flags spell
    /// them.
    pub(crate) fn settings_json(&self) -> serde_json::Value {
        let config = self.args.config();
        let fields: serde_json::Map<String, serde_json::Value> = Config::SETTINGS
            .iter()
            .filter_map(|s| config.get(s.name).map(|v| (s.name.to_string(), json!(v))))
            .collect();
        serde_json::Value::Object(fields)
    }
}
