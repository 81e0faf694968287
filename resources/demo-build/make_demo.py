"""Rebuild the bundled demo library `resources/demo/` from the project's fixture photos.

Run from the repository root with the fixtures beside it:

    .venv/bin/python resources/demo-build/make_demo.py ../shared/data/fixtures

Portraits are resized (long side 800 px, JPEG q88) to keep the demo small. The old
group photo is made from a real photo of two people: printed small, faded to sepia,
scanned at low resolution, with grain, dust and scratches; the seed fixes every random
choice so the output is the same on every run.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

PORTRAITS = {
    "barack_obama": ["people/id07/obama.jpg", "people/id07/obama3.jpg"],
    "joe_biden": ["people/id08/biden.jpg"],
    "jack_dorsey": [f"people/id05/img{n}.jpg" for n in (16, 17, 61, 62)],
    "mark_zuckerberg": [f"people/id06/img{n}.jpg" for n in (13, 14, 15, 58)],
    "jennifer_aniston": [f"people/id04/img{n}.jpg" for n in (3, 12, 53, 54)],
}
# (source, print width in px, tilt in degrees): faces end up about 30-36 px wide, the
# two known people's small enough for the bundled 64 px model to restore them.
ALBUM_PRINTS = [("groups/two_people.jpg", 215, 2.0), ("groups/t1.jpg", 320, -1.5)]
REAL_OLD = "old/bop-old_b.png"
LONG_SIDE = 800
SEED = 1968


def _resize_long_side(img: Image.Image, long_side: int) -> Image.Image:
    scale = long_side / max(img.size)
    if scale >= 1:
        return img
    size = (round(img.width * scale), round(img.height * scale))
    return img.resize(size, Image.Resampling.LANCZOS)


def age_photo(img: Image.Image, width: int, rng: np.random.Generator) -> Image.Image:
    """Turn a modern photo into a small, faded sepia print with grain, dust and scratches."""
    # Resolve less than the print's pixels (a soft lens and paper), then blur a little.
    soft = img.convert("L").resize((width * 2 // 3, round(width * 2 / 3 * img.height / img.width)),
                                   Image.Resampling.BOX)
    scan = soft.resize((width, round(width * img.height / img.width)), Image.Resampling.BICUBIC)
    scan = scan.filter(ImageFilter.GaussianBlur(0.7))
    g = np.asarray(scan, dtype=np.float32) / 255.0

    g = 0.12 + 0.78 * g  # fading: lifted blacks, dulled whites
    h, w = g.shape
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
    g *= 1.0 - 0.25 * np.clip(r - 0.5, 0, None)  # vignette
    g += rng.normal(0, 0.035, g.shape)  # film grain
    for _ in range(w * h // 2500):  # dust specks
        y, x = rng.integers(0, h), rng.integers(0, w)
        rad = rng.integers(1, 2)
        g[max(0, y - rad) : y + rad, max(0, x - rad) : x + rad] = rng.choice([0.05, 0.95])
    for _ in range(2):  # thin near-vertical scratches
        x0 = rng.integers(0, w)
        drift = rng.normal(0, 0.08)
        ys = np.arange(rng.integers(0, h // 3), rng.integers(2 * h // 3, h))
        xs = np.clip((x0 + drift * (ys - ys[0])).astype(int), 0, w - 1)
        g[ys, xs] = 0.92
    g = np.clip(g, 0, 1)

    sepia = np.stack([g * 1.07, g * 0.89, g * 0.66], axis=-1)
    photo = Image.fromarray((np.clip(sepia, 0, 1) * 255).astype(np.uint8), "RGB")
    border = max(6, width // 25)
    framed = Image.new("RGB", (photo.width + 2 * border, photo.height + 2 * border), (226, 214, 188))
    framed.paste(photo, (border, border))
    return framed


def album_page(prints: list[tuple[Image.Image, int, float]], rng: np.random.Generator) -> Image.Image:
    """Mount aged prints (image, width, tilt in degrees) on a dark album page, scanned."""
    page_w, page_h = 760, 500
    paper = rng.normal(58, 5, (page_h, page_w)).clip(0, 255)
    page = Image.fromarray(np.stack([paper, paper * 0.92, paper * 0.8], -1).astype(np.uint8))
    page = page.filter(ImageFilter.GaussianBlur(1.5))
    x = 40
    for img, width, tilt in prints:
        framed = age_photo(img, width, rng)
        aged = framed.rotate(tilt, Image.Resampling.BICUBIC, expand=True)
        mask = Image.new("L", framed.size, 255).rotate(tilt, Image.Resampling.BICUBIC, expand=True)
        y = (page_h - aged.height) // 2 + int(rng.integers(-30, 30))
        page.paste(aged, (x, y), mask)
        x += aged.width + 40
    return page


def build(fixtures: Path, out: Path) -> None:
    """Write the demo library into `out` (replacing what was there)."""
    if out.exists():  # everything but the credits, which are written by hand
        for child in out.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            elif child.name != "SOURCES.md":
                child.unlink()
    for person, files in PORTRAITS.items():
        folder = out / "portraits" / person
        folder.mkdir(parents=True)
        for rel in files:
            img = Image.open(fixtures / rel).convert("RGB")
            _resize_long_side(img, LONG_SIDE).save(folder / Path(rel).name, quality=88)
    old = out / "old"
    old.mkdir(parents=True)
    rng = np.random.default_rng(SEED)
    prints = [(Image.open(fixtures / src), width, tilt) for src, width, tilt in ALBUM_PRINTS]
    album_page(prints, rng).save(old / "album_page_1960s.jpg", quality=88)
    Image.open(fixtures / REAL_OLD).convert("RGB").save(old / "family_snapshot.jpg", quality=88)


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    build(Path(sys.argv[1]), root / "demo")
    print(f"demo library written to {root / 'demo'}")
