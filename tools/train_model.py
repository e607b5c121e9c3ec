"""Train the small CNN that the examples and tests explain, and export it to ONNX.

    python3 tools/train_model.py            # needs numpy, pillow, scikit-image, torch, onnx, onnxruntime

It ends by running tools/soften_model.py, which divides the exported logits
by a temperature so the probabilities do not saturate (see that script).

Data: 96x96 patches cut (stride 8) from assets/ihc.png (scikit-image's IHC
sample, 512x512). Label 1 ("DAB-rich") when the patch's mean DAB optical
density (colour deconvolution, skimage.color.rgb2hed) exceeds the median over
the training patches, else 0. So the network is a DAB-stain detector, and a
faithful explanation lights up the brown regions.

Split: the held-out patches lie entirely inside the vertical band of columns
[192, 320); training patches do not overlap that band at all, so no test pixel
is ever seen in training.

Writes
  assets/models/ihc_dab_cnn.onnx       input float32 N x 3 x 96 x 96 (RGB in [0, 1]),
                                       output float32 N x 2 softmax probabilities
  assets/models/ihc_dab_cnn.txt        model card: data, split, accuracy, parameters
  tests/data/onnx_fixture.txt          16 held-out patches (row, col of their corner
                                       in ihc.png) with torch's probabilities
"""
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from skimage.color import rgb2hed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P, STRIDE, BAND = 96, 8, (192, 320)
EPOCHS = int(os.environ.get("EPOCHS", 25))
torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(os.cpu_count() or 1)

img = np.asarray(Image.open(os.path.join(ROOT, "assets/ihc.png")).convert("RGB"))
dab = rgb2hed(img)[..., 2]
H, W = dab.shape

coords, split = [], []
for y in range(0, H - P + 1, STRIDE):
    for x in range(0, W - P + 1, STRIDE):
        inside = x >= BAND[0] and x + P <= BAND[1]
        overlaps = x < BAND[1] and x + P > BAND[0]
        if inside:
            coords.append((y, x)); split.append(1)
        elif not overlaps:
            coords.append((y, x)); split.append(0)
coords, split = np.array(coords), np.array(split)
score = np.array([dab[y:y + P, x:x + P].mean() for y, x in coords])
threshold = float(np.median(score[split == 0]))
labels = (score > threshold).astype(np.int64)


def tensor(idx):
    x = np.stack([img[y:y + P, x:x + P] for y, x in coords[idx]]).astype(np.float32) / 255.0
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


tr, te = np.nonzero(split == 0)[0], np.nonzero(split == 1)[0]
xtr, ytr = tensor(tr), torch.from_numpy(labels[tr])
xte, yte = tensor(te), torch.from_numpy(labels[te])
print(f"train {len(tr)} (positive {ytr.float().mean():.2f}), held out {len(te)} "
      f"(positive {yte.float().mean():.2f}), DAB threshold {threshold:.4f}")


class DabCnn(nn.Module):
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


model = DabCnn()
params = sum(p.numel() for p in model.parameters())
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)


def augment(x):
    if np.random.rand() < 0.5:
        x = x.flip(3)
    if np.random.rand() < 0.5:
        x = x.flip(2)
    k = np.random.randint(4)
    return torch.rot90(x, k, (2, 3)) if k else x


def accuracy(x, y):
    model.eval()
    with torch.no_grad():
        p = torch.cat([model(x[i:i + 256]) for i in range(0, len(x), 256)])
    return (p.argmax(1) == y).float().mean().item()


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
        print(f"epoch {epoch + 1:2d}  loss {loss.item():.4f}  train acc {accuracy(xtr, ytr):.3f}  "
              f"held-out acc {accuracy(xte, yte):.3f}  ({time.time() - start:.0f} s)")
train_acc, test_acc = accuracy(xtr, ytr), accuracy(xte, yte)

model.eval()
onnx_path = os.path.join(ROOT, "assets/models/ihc_dab_cnn.onnx")
torch.onnx.export(model, (torch.zeros(1, 3, P, P),), onnx_path, input_names=["image"],
                  output_names=["probabilities"],
                  dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}},
                  opset_version=17, dynamo=False)
import onnx
onnx.checker.check_model(onnx.load(onnx_path))

neg, pos = te[labels[te] == 0][:8], te[labels[te] == 1][:8]
fixture = np.concatenate([neg, pos])
with torch.no_grad():
    probs = model(tensor(fixture)).numpy()
with open(os.path.join(ROOT, "tests/data/onnx_fixture.txt"), "w") as f:
    f.write("# row col label p0 p1  (96x96 patches of assets/ihc.png, torch float32 output)\n")
    for (y, x), lab, p in zip(coords[fixture], labels[fixture], probs):
        f.write(f"{y} {x} {lab} {float(p[0])!r} {float(p[1])!r}\n")

with open(os.path.join(ROOT, "assets/models/ihc_dab_cnn.txt"), "w") as f:
    f.write(f"""ihc_dab_cnn.onnx: a DAB-stain detector for 96x96 IHC patches
architecture  4 conv3x3 (16, 32, 64, 64) + ReLU, max-pool after the first three,
              global average pool, linear 64->2, softmax; {params} parameters
input         float32 N x 3 x 96 x 96, RGB in [0, 1] (u8 / 255), no other normalisation
output        float32 N x 2: P(DAB-poor), P(DAB-rich)
data          96x96 patches, stride 8, of assets/ihc.png (scikit-image IHC sample)
label         mean DAB optical density (skimage rgb2hed) > {threshold:.4f} (training median)
split         held out: patches inside columns [192, 320); training: no overlap with them
              train {len(tr)} patches, held out {len(te)} patches
training      {EPOCHS} epochs, Adam 2e-3, cosine schedule, flips and 90-degree rotations, seed 0
accuracy      train {train_acc:.4f}, held out {test_acc:.4f}
made by       tools/train_model.py (torch {torch.__version__})
""")
print(f"params {params}, onnx {os.path.getsize(onnx_path)} bytes, held-out accuracy {test_acc:.4f}")
import subprocess, sys
subprocess.run([sys.executable, os.path.join(ROOT, "tools/soften_model.py")], check=True)
