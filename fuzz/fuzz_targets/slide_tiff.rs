//! The slide reader on arbitrary bytes: opening a TIFF and reading a
//! corner of every level is a slide, pixels or a typed error, never a
//! panic, a hang or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use multiscale_lime::slide::{Slide, TiffSlide};

fuzz_target!(|data: &[u8]| {
    // The reader opens files: one per fuzzing process, rewritten each run.
    let path = std::env::temp_dir().join(format!("mslime-fuzz-slide-{}.tif", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(slide) = TiffSlide::open(&path) {
        let levels = slide.levels().to_vec();
        assert!(!levels.is_empty());
        for (l, level) in levels.iter().enumerate() {
            assert!(level.width > 0 && level.height > 0 && level.downsample >= 1.0 - 1e-9);
            let (w, h) = (level.width.min(96) as u32, level.height.min(96) as u32);
            if let Ok(region) = slide.read_region(l, 0, 0, w, h) {
                assert_eq!(region.dimensions(), (w, h));
            }
        }
    }
});
