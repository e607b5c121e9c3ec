//! What `mslime` reads from a user before any model runs: an image file's
//! bytes (PNG, JPEG, TIFF; its header's size checked before decoding) and
//! the values of its own options (colours, hide colours, execution
//! providers, shards). The binary's own `read.rs` and `parse.rs` are
//! compiled here as they are. An image or a typed message, never a panic,
//! and never more pixels than the bound.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;

#[path = "../../cli/src/parse.rs"]
#[allow(dead_code)]
mod parse;
#[path = "../../cli/src/read.rs"]
mod read;

/// Small enough that a decoded image costs little, large enough for
/// every format's real headers.
const MAX_PIXELS: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        // An image file, alpha dropped or composited.
        0..=2 => {
            let background = [None, Some(1.0), Some(0.0)][usize::from(selector % 4)];
            if let Ok((image, notes)) = read::decode(Cursor::new(rest), MAX_PIXELS, background) {
                assert!(image.height() * image.width() <= MAX_PIXELS);
                assert!(notes.len() <= 2);
            }
        }
        // An option's value.
        _ => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(colour) = text.parse::<multiscale_lime::HideColor>() {
                assert!(colour.validate().is_ok());
            }
            // Every setting's grammar: what parses, prints and parses back.
            for setting in multiscale_lime::Config::SETTINGS {
                let mut config = multiscale_lime::Config::default();
                if config.set(setting.name, &text).is_ok() {
                    let printed = config.to_string();
                    assert_eq!(printed.parse::<multiscale_lime::Config>().ok(), Some(config));
                }
            }
            let _ = parse::parse_rgb(&text);
            let _ = parse::parse_provider(&text);
            if let Ok(shard) = text.parse::<parse::Shard>() {
                assert!(shard.index < shard.count);
            }
        }
    }
});
