//! The public types can cross threads (rayon needs `Send + Sync`).

use multiscale_lime::*;

fn has_autotraits<T: Send + Sync + Sized + Unpin>() {}

#[test]
fn public_types_are_send_sync() {
    has_autotraits::<MultiScaleLime>();
    has_autotraits::<MultiScaleLime<SquareGrid>>();
    has_autotraits::<Explanation>();
    has_autotraits::<HeatmapStack>();
    has_autotraits::<Image>();
    has_autotraits::<Segmentation>();
    has_autotraits::<Slic>();
    has_autotraits::<Ridge>();
    has_autotraits::<Error>();
    has_autotraits::<ClassifierError>();
    has_autotraits::<CombinedHeatmap>();
}
