//! Arbitrary bytes as an ONNX model, through tract: loading ends in a
//! prepared classifier or a typed error, never a panic; a loaded model
//! scores a batch or fails with a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use multiscale_lime::onnx::{InputLayout, OnnxClassifier};
use multiscale_lime::Classifier;

fuzz_target!(|data: &[u8]| {
    // tract panics on some malformed models and the classifier catches
    // those panics; libfuzzer-sys's hook would abort on them anyway, so a
    // silent hook replaces it. A panic that escapes the classifier still
    // aborts: libfuzzer-sys checks every run with catch_unwind.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&settings, bytes)) = data.split_first() else {
        return;
    };
    let side = usize::from(settings % 8) + 1;
    let layout = if settings & 0x80 == 0 {
        InputLayout::Nchw
    } else {
        InputLayout::Nhwc
    };
    let loaded = OnnxClassifier::builder(side, side)
        .layout(layout)
        .batch_size(usize::from(settings >> 4 & 3) + 1)
        .load_bytes(bytes);
    if let Ok(model) = loaded {
        let batch = ndarray::Array4::<f32>::from_elem((3, side, side, 3), 0.5);
        if let Ok(scores) = model.predict(batch.view()) {
            assert_eq!(scores.dim(), (3, model.num_classes()));
        }
    }
});
