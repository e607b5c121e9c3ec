"""Train the small CNNs that the examples and tests explain, and export them to ONNX.

    python3 tools/train_model.py              # the IHC model (DAB)
    python3 tools/train_model.py --stain he   # the H&E model (hematoxylin)
    # both need numpy, pillow, scikit-image, torch, onnx, onnxruntime

Each run ends with tools/soften_model.py, which divides the exported logits
by a temperature so the probabilities do not saturate (see that script).
EPOCHS (default 25) and THREADS (default: every core) in the environment
override the epochs and torch's thread count.

Both models are the same network trained the same way on 96x96 patches of
one image, labelled by colour deconvolution (skimage.color.rgb2hed): label 1
when the patch's mean optical density of one stain exceeds the median over
the training patches, else 0. So each network is a stain-density detector,
and a faithful explanation lights up the stained pixels. The held-out
patches lie entirely inside a band of columns or rows; training patches do
not overlap that band at all, so no test pixel is ever seen in training.

--stain ihc (default): a DAB-stain detector for IHC.
  Data: patches cut (stride 8) from assets/ihc.png (scikit-image's IHC
  sample, 512x512); label by DAB density; held out: the columns [192, 320).
  Writes
    assets/models/ihc_dab_cnn.onnx     input float32 N x 3 x 96 x 96 (RGB in [0, 1]),
                                       output float32 N x 2 softmax probabilities
    assets/models/ihc_dab_cnn.txt      model card: data, split, accuracy, parameters
    tests/data/onnx_fixture.txt        16 held-out patches (row, col of their corner
                                       in ihc.png) with torch's probabilities

--stain he: a nuclei-density detector for H&E slides.
  Data: patches cut (stride 24) from ../shared/data/cmu_small_region.png,
  level 0 of OpenSlide's CMU-1-Small-Region.svs (CC0, 2220x2967, 0.499
  um/px; 6 MB, so it is read from there, not bundled). Background is dropped
  as a slide is tiled only on tissue: a pixel is tissue when its luminance
  0.299 R + 0.587 G + 0.114 B is below 220, and a patch is kept when at
  least half of its pixels are tissue. Label 1 ("nuclei-dense") by
  hematoxylin density; held out: the rows [1680, 2160).
  Writes
    assets/models/he_nuclei_cnn.onnx   as above
    assets/models/he_nuclei_cnn.txt    model card, with the share of the slide's
                                       tissue tiles called nuclei-dense
    tests/data/onnx_he_fixture.txt     16 held-out patches (row, col of their corner
                                       in onnx_he_fixture.png) with torch's probabilities
    tests/data/onnx_he_fixture.png     the held-out crop of the slide that holds them
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from skimage.color import rgb2hed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P = 96
EPOCHS = int(os.environ.get("EPOCHS", 25))
LUMA = np.array([0.299, 0.587, 0.114])

# What differs between the two models. `channel` is rgb2hed's (0
# hematoxylin, 2 DAB); `band` is (axis, start, end), axis 1 for columns, 0
# for rows; `background` is (luminance, tissue fraction) or None to keep
# every patch; `temperature` is soften_model.py's T.
STAINS = {
    "ihc": dict(
        name="ihc_dab_cnn", title="a DAB-stain detector for 96x96 IHC patches",
        image="assets/ihc.png", data="assets/ihc.png (scikit-image IHC sample)",
        stain="DAB", channel=2, classes=("DAB-poor", "DAB-rich"),
        stride=8, band=(1, 192, 320), background=None,
        fixture="tests/data/onnx_fixture.txt", fixture_image=None, flag="", temperature=8.0),
    "he": dict(
        name="he_nuclei_cnn", title="a nuclei-density detector for 96x96 H&E patches",
        image="../shared/data/cmu_small_region.png",
        data="cmu_small_region.png: level 0 (2220x2967, 0.499 um/px) of\n"
             "              OpenSlide's CMU-1-Small-Region.svs (CC0), read from ../shared/data",
        stain="hematoxylin", channel=0, classes=("stroma/sparse", "nuclei-dense"),
        stride=24, band=(0, 1680, 2160), background=(220, 0.5),
        fixture="tests/data/onnx_he_fixture.txt",
        fixture_image="tests/data/onnx_he_fixture.png", flag=" --stain he", temperature=8.0),
}


class StainCnn(nn.Module):
    """Four 3x3 conv layers with max-pooling, global average pool, linear head."""

    def __init__(self, c=(16, 32, 64, 64)):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(i, o, 3, padding=1) for i, o in zip((3,) + c[:-1], c))
        self.head = nn.Linear(c[-1], 2)

    def logits(self, x):
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i < len(self.convs) - 1:
                x = F.max_pool2d(x, 2)
        return self.head(x.mean(dim=(2, 3)))

    def forward(self, x):
        return F.softmax(self.logits(x), dim=1)


def tissue_fraction(img, y, x, size, luminance):
    return float((img[y:y + size, x:x + size] @ LUMA < luminance).mean())


def patches(img, cfg):
    """Corners of the kept patches and their split (1 held out, 0 training)."""
    H, W = img.shape[:2]
    axis, lo, hi = cfg["band"]
    coords, split = [], []
    for y in range(0, H - P + 1, cfg["stride"]):
        for x in range(0, W - P + 1, cfg["stride"]):
            if cfg["background"] and tissue_fraction(img, y, x, P, cfg["background"][0]) < cfg["background"][1]:
                continue
            start = x if axis == 1 else y
            inside = start >= lo and start + P <= hi
            overlaps = start < hi and start + P > lo
            if inside:
                coords.append((y, x)); split.append(1)
            elif not overlaps:
                coords.append((y, x)); split.append(0)
    return np.array(coords), np.array(split)


def tensor(img, corners):
    x = np.stack([img[y:y + P, x:x + P] for y, x in corners]).astype(np.float32) / 255.0
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def augment(x):
    if np.random.rand() < 0.5:
        x = x.flip(3)
    if np.random.rand() < 0.5:
        x = x.flip(2)
    k = np.random.randint(4)
    return torch.rot90(x, k, (2, 3)) if k else x


def predict(model, x):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + 256]) for i in range(0, len(x), 256)])


def accuracy(model, x, y):
    return (predict(model, x).argmax(1) == y).float().mean().item()


def train(model, xtr, ytr, xte, yte):
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    start = time.time()
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            idx = perm[i:i + 64]
            loss = F.cross_entropy(model.logits(augment(xtr[idx])), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if epoch % 5 == 4 or epoch == EPOCHS - 1:
            print(f"epoch {epoch + 1:2d}  loss {loss.item():.4f}  train acc {accuracy(model, xtr, ytr):.3f}  "
                  f"held-out acc {accuracy(model, xte, yte):.3f}  ({time.time() - start:.0f} s)")
    return time.time() - start


def compact_fixture(coords, labels, te, span=288):
    """8 held-out patches of each class inside one span x span window (the
    first window in scan order that holds the most of both), so a small crop
    of the slide carries the whole fixture."""
    best, pick = -1, None
    for y0, x0 in coords[te]:
        inside = te[(coords[te, 0] >= y0) & (coords[te, 0] + P <= y0 + span)
                    & (coords[te, 1] >= x0) & (coords[te, 1] + P <= x0 + span)]
        neg, pos = inside[labels[inside] == 0], inside[labels[inside] == 1]
        if min(len(neg), len(pos), 8) > best:
            best, pick = min(len(neg), len(pos), 8), np.concatenate([neg[:8], pos[:8]])
    assert best == 8, "no window holds 8 held-out patches of each class"
    return pick


def slide_tiles(model, img, cfg, threshold):
    """Non-overlapping tissue tiles of the whole image: how many, and the
    share the model and the label rule call positive."""
    H, W = img.shape[:2]
    corners = [(y, x) for y in range(0, H - P + 1, P) for x in range(0, W - P + 1, P)
               if tissue_fraction(img, y, x, P, cfg["background"][0]) >= cfg["background"][1]]
    called = predict(model, tensor(img, corners)).argmax(1).float().mean().item()
    density = rgb2hed(img)[..., cfg["channel"]]
    rule = np.mean([density[y:y + P, x:x + P].mean() > threshold for y, x in corners])
    return len(corners), called, rule


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stain", choices=sorted(STAINS), default="ihc")
    cfg = STAINS[parser.parse_args().stain]
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(int(os.environ.get("THREADS", os.cpu_count() or 1)))

    img = np.asarray(Image.open(os.path.join(ROOT, cfg["image"])).convert("RGB"))
    density = rgb2hed(img)[..., cfg["channel"]]
    coords, split = patches(img, cfg)
    score = np.array([density[y:y + P, x:x + P].mean() for y, x in coords])
    threshold = float(np.median(score[split == 0]))
    labels = (score > threshold).astype(np.int64)

    tr, te = np.nonzero(split == 0)[0], np.nonzero(split == 1)[0]
    xtr, ytr = tensor(img, coords[tr]), torch.from_numpy(labels[tr])
    xte, yte = tensor(img, coords[te]), torch.from_numpy(labels[te])
    print(f"train {len(tr)} (positive {ytr.float().mean():.2f}), held out {len(te)} "
          f"(positive {yte.float().mean():.2f}), {cfg['stain']} threshold {threshold:.4f}")

    model = StainCnn()
    params = sum(p.numel() for p in model.parameters())
    seconds = train(model, xtr, ytr, xte, yte)
    train_acc, test_acc = accuracy(model, xtr, ytr), accuracy(model, xte, yte)

    model.eval()
    onnx_path = os.path.join(ROOT, f"assets/models/{cfg['name']}.onnx")
    torch.onnx.export(model, (torch.zeros(1, 3, P, P),), onnx_path, input_names=["image"],
                      output_names=["probabilities"],
                      dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}},
                      opset_version=17, dynamo=False)
    import onnx
    onnx.checker.check_model(onnx.load(onnx_path))

    if cfg["fixture_image"] is None:
        fixture = np.concatenate([te[labels[te] == 0][:8], te[labels[te] == 1][:8]])
        source, corners, note = cfg["image"], coords[fixture], ""
    else:
        fixture = compact_fixture(coords, labels, te)
        (y0, x0), (y1, x1) = coords[fixture].min(0), coords[fixture].max(0) + P
        Image.fromarray(img[y0:y1, x0:x1]).save(os.path.join(ROOT, cfg["fixture_image"]), optimize=True)
        source, corners = cfg["fixture_image"], coords[fixture] - (y0, x0)
        note = (f"# that image is rows [{y0}, {y1}), columns [{x0}, {x1}) of {os.path.basename(cfg['image'])}"
                f" (held-out band)\n")
    probs = predict(model, tensor(img, coords[fixture])).numpy()
    with open(os.path.join(ROOT, cfg["fixture"]), "w") as f:
        f.write(f"# row col label p0 p1  (96x96 patches of {source}, torch float32 output)\n{note}")
        for (y, x), lab, p in zip(corners, labels[fixture], probs):
            f.write(f"{y} {x} {lab} {float(p[0])!r} {float(p[1])!r}\n")

    axis, lo, hi = cfg["band"]
    background = tiles = ""
    if cfg["background"]:
        lum, share = cfg["background"]
        background = (f"background    dropped: a patch is kept when >= {share:g} of its pixels are tissue,\n"
                      f"              luminance 0.299 R + 0.587 G + 0.114 B < {lum:g}\n")
        count, called, rule = slide_tiles(model, img, cfg, threshold)
        tiles = (f"slide         {count} non-overlapping 96x96 tissue tiles of the whole image: "
                 f"{called:.1%} called\n              {cfg['classes'][1]} ({rule:.1%} by the label rule)\n")
    with open(os.path.join(ROOT, f"assets/models/{cfg['name']}.txt"), "w") as f:
        f.write(f"""{cfg['name']}.onnx: {cfg['title']}
architecture  4 conv3x3 (16, 32, 64, 64) + ReLU, max-pool after the first three,
              global average pool, linear 64->2, softmax; {params} parameters
input         float32 N x 3 x 96 x 96, RGB in [0, 1] (u8 / 255), no other normalisation
output        float32 N x 2: P({cfg['classes'][0]}), P({cfg['classes'][1]})
data          96x96 patches, stride {cfg['stride']}, of {cfg['data']}
{background}label         mean {cfg['stain']} optical density (skimage rgb2hed) > {threshold:.4f} (training median)
split         held out: patches inside {('rows', 'columns')[axis]} [{lo}, {hi}); training: no overlap with them
              train {len(tr)} patches, held out {len(te)} patches
training      {EPOCHS} epochs, Adam 2e-3, cosine schedule, flips and 90-degree rotations, seed 0
accuracy      train {train_acc:.4f}, held out {test_acc:.4f}
{tiles}made by       tools/train_model.py{cfg['flag']} (torch {torch.__version__})
""")
    print(f"params {params}, onnx {os.path.getsize(onnx_path)} bytes, held-out accuracy {test_acc:.4f}, "
          f"trained in {seconds:.0f} s")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools/soften_model.py"), "--model", cfg["name"],
                    "--fixture", cfg["fixture"], "--image", source,
                    "--temperature", str(cfg["temperature"])], check=True)


if __name__ == "__main__":
    main()
