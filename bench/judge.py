"""The judge: a face recognizer that the IDFSR model never meets, for scoring restorations.

The model is conditioned on (and fitted with) dlib's 128-d embeddings, so scoring its
identity with dlib would reward it for fooling the very network it was steered by. The
judge is a separate small ResNet, trained here with a CosFace margin on the labelled
faces of a prepared dataset (the LFW people of the training data, grayscale; the inner
face of the canonical crop at 32 px), and never used in training or fitting. Held-out
people are not in that dataset, so the judge has never seen them either.

    .venv/bin/python bench/judge.py --data DATASET [--epochs 12] [--out bench/out/judge.safetensors]

It sees grayscale only (LFW is grayscale): colour cannot help a restoration's score.
The weights inherit the research-only licence of the faces they were trained on; they
stay under bench/out and are never bundled.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from safetensors.torch import load_file, save_file
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.idfsr.dataset import PreparedFaces  # noqa: E402

DEFAULT_PATH = Path(__file__).resolve().parent / "out" / "judge.safetensors"
SIZE = 32  # network input: the inner face, brows to chin
# The inner face in a 64 px canonical crop (eyes at y=30, mouth at y=46): x 12-52, y 16-56.
INNER = (16, 56, 12, 52)


def _block(cin: int, cout: int, stride: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
    )


class _Res(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = _block(cin, cout, stride)
        self.skip = (nn.Identity() if cin == cout and stride == 1 else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                   nn.BatchNorm2d(cout)))
        self.act = nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class JudgeNet(nn.Module):
    """32x32 grayscale inner face -> 128-d unit vector (~0.6M parameters, ~25M MACs)."""

    def __init__(self, dim: int = 128) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32),
                                  nn.PReLU(32))
        self.stages = nn.Sequential(_Res(32, 48, 2), _Res(48, 96, 2),
                                    _Res(96, 160, 2))  # 4x4 at the end
        self.head = nn.Sequential(nn.BatchNorm2d(160), nn.Dropout(0.2), nn.Flatten(),
                                  nn.Linear(160 * 16, dim), nn.BatchNorm1d(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.stages(self.stem(x))), dim=1)


def to_input(faces: NDArray[np.uint8]) -> torch.Tensor:
    """(N, S, S, 3) uint8 canonical crops -> (N, 1, 32, 32) inner faces in [-1, 1], gray."""
    x = torch.from_numpy(np.ascontiguousarray(faces)).float() / 127.5 - 1.0
    x = (x * torch.tensor([0.299, 0.587, 0.114])).sum(-1, keepdim=True)
    s = x.shape[1] / 64
    y0, y1, x0, x1 = (round(v * s) for v in INNER)
    x = x[:, y0:y1, x0:x1].permute(0, 3, 1, 2)
    return F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", antialias=True,
                         align_corners=False)


class Judge:
    """A trained judge, for scoring."""

    def __init__(self, path: Path = DEFAULT_PATH) -> None:
        if not path.is_file():
            raise SystemExit(f"no judge at {path}: train one with bench/judge.py --data DATASET")
        self.net = JudgeNet()
        self.net.load_state_dict(load_file(str(path)))
        self.net.eval()

    @torch.no_grad()
    def embed(self, faces: NDArray[np.uint8]) -> NDArray[np.float32]:
        """(N, S, S, 3) uint8 canonical crops -> (N, 128) unit vectors (flip-averaged)."""
        x = to_input(faces)
        e = self.net(x) + self.net(torch.flip(x, dims=[3]))
        return F.normalize(e, dim=1).numpy()


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mild: flips, +-2 px shifts, brightness/contrast. No blur: the judge should see detail."""
    n = len(x)
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], torch.flip(x, dims=[3]), x)
    pad = F.pad(x, (2, 2, 2, 2), mode="replicate")
    dx, dy = torch.randint(0, 5, (2,), generator=gen).tolist()
    x = pad[:, :, dy:dy + SIZE, dx:dx + SIZE]
    gain = 1 + 0.2 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    bias = 0.2 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    return (x * gain + bias).clamp(-1, 1)


def train_judge(data: PreparedFaces, out: Path, epochs: int = 12, batch: int = 128,
                seed: int = 0) -> dict[str, float]:
    """Train on every labelled person with >= 2 faces; CosFace (s=30, m=0.35)."""
    people = sorted(p for p, idx in data.groups.items() if len(idx) >= 2)
    rows = [(i, c) for c, p in enumerate(people) for i in data.groups[p]]
    faces = np.stack([data.face(i) for i, _ in rows])
    x_all = to_input(faces)
    y_all = torch.tensor([c for _, c in rows])
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = JudgeNet()
    weight = nn.Parameter(torch.randn(len(people), 128) * 0.01)
    opt = torch.optim.SGD([*net.parameters(), weight], lr=0.1, momentum=0.9, weight_decay=5e-4)
    steps = epochs * ((len(rows) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps,
                                                pct_start=0.15)
    started = time.perf_counter()
    loss_v = 0.0
    for epoch in range(epochs):
        order = torch.randperm(len(rows), generator=gen)
        total, count = 0.0, 0
        net.train()
        for s in range(0, len(rows), batch):
            b = order[s:s + batch]
            if len(b) < 2:
                continue
            emb = net(_augment(x_all[b], gen))
            cos = emb @ F.normalize(weight, dim=1).T
            margin = F.one_hot(y_all[b], len(people)) * 0.35
            loss = F.cross_entropy(30.0 * (cos - margin), y_all[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(b)
            count += len(b)
        loss_v = total / max(1, count)
        print(json.dumps({"epoch": epoch + 1, "loss": round(loss_v, 3),
                          "seconds": round(time.perf_counter() - started, 1)}),
              file=sys.stderr, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(out))
    return {"people": len(people), "faces": len(rows), "epochs": epochs,
            "final_loss": round(loss_v, 3), "seconds": round(time.perf_counter() - started, 1)}


def verification(emb: NDArray[np.float32], labels: list[str]) -> dict[str, float]:
    """Leave-one-out top-1 identification and same/different ROC AUC."""
    sims = emb @ emb.T
    lab = np.array(labels)
    same = lab[:, None] == lab[None, :]
    np.fill_diagonal(sims, -np.inf)
    top1 = float((lab[np.argmax(sims, axis=1)] == lab).mean())
    iu = np.triu_indices(len(lab), 1)
    s, t = sims[iu], same[iu]
    order = np.argsort(s)
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    pos = t.sum()
    auc = float((ranks[t].sum() - pos * (pos + 1) / 2) / (pos * (len(s) - pos)))
    return {"top1": round(top1, 4), "auc": round(auc, 4), "faces": len(lab),
            "people": len(set(labels))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="A prepared dataset (labelled).")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--out", type=Path, default=DEFAULT_PATH)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps(train_judge(PreparedFaces(args.data), args.out, args.epochs)))


if __name__ == "__main__":
    main()
