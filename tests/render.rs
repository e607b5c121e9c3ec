//! Rendered figures have the promised size and colours, and survive a PNG
//! round trip.

use multiscale_lime::prelude::*;
use multiscale_lime::render::{colorize, overlay, panel, Colormap};
use multiscale_lime::Preset;
use multiscale_lime_testkit::{rectangle_classifier, textured_image};

#[test]
fn panel_and_overlay_pngs() {
    let image = textured_image(24, 20);
    let clf = rectangle_classifier(0, 12, 0, 10);
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([4, 12, 30])
        .build()
        .unwrap();
    let e = lime.explain(&image, &clf, Target::Class(0)).unwrap();
    let stack = &e.stacks()[0];
    let combined = Trapezoid.combine(stack).unwrap();

    let scale = 2;
    let fig = panel(
        &image,
        stack,
        &combined,
        Colormap::Viridis,
        (0.0, 1.0),
        scale,
    )
    .unwrap();
    let (tw, th, gap, label) = (20 * scale, 24 * scale, 4, 14);
    assert_eq!(
        fig.dimensions(),
        (4 * (tw + gap) + gap, label + 2 * th + 3 * gap)
    );
    // The label band holds dark text; the heatmap row holds colour-map colours.
    let dark = fig
        .enumerate_pixels()
        .filter(|(_, y, p)| *y < label && p.0 == [40, 40, 40])
        .count();
    assert!(dark > 20, "label text missing ({dark} px)");
    let heat_row_y = label + gap + th + gap + 1;
    let p = fig.get_pixel(gap + 1, heat_row_y).0;
    let viridis: Vec<[u8; 3]> = (0..=1000)
        .map(|i| Colormap::Viridis.rgb(f64::from(i) / 1000.0))
        .collect();
    assert!(
        viridis
            .iter()
            .any(|c| c.iter().zip(&p).all(|(a, b)| a.abs_diff(*b) <= 1)),
        "{p:?}"
    );

    let dir = std::env::temp_dir().join(format!("mslime-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("panel.png");
    fig.save(&path).unwrap();
    let back = image::open(&path).unwrap().to_rgb8();
    assert_eq!(back, fig);

    let heat = colorize(&combined.heatmap, Colormap::Inferno, (0.0, 1.0)).unwrap();
    assert_eq!(heat.dimensions(), (20, 24));
    let over = overlay(
        &image,
        &combined.heatmap,
        Colormap::Inferno,
        (0.0, 1.0),
        0.5,
    )
    .unwrap();
    over.save(dir.join("overlay.png")).unwrap();
    assert_eq!(
        image::open(dir.join("overlay.png"))
            .unwrap()
            .to_rgb8()
            .dimensions(),
        (20, 24)
    );
    // Every overlay channel lies between the image's and the colour map's value.
    let base = image.to_rgb8();
    for ((o, b), c) in over.pixels().zip(base.pixels()).zip(heat.pixels()) {
        for ch in 0..3 {
            let (lo, hi) = (b.0[ch].min(c.0[ch]), b.0[ch].max(c.0[ch]));
            assert!(o.0[ch] >= lo && o.0[ch] <= hi);
        }
    }
    std::fs::remove_dir_all(dir).ok();
}
