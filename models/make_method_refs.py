#!/usr/bin/python3
"""Reference attributions for the method tests (test/methods/captum.test.ts and
the CLI tests), from Captum 0.8 run on the shipped models rebuilt in PyTorch
from their own .onnx weights, in float64.

    CAPTUM_SRC=/path/to/captum-v0.8.0 /usr/bin/python3 models/make_method_refs.py

Needs Debian's python3-torch, python3-onnx, python3-pil, and python3-matplotlib
and python3-tqdm (Captum imports them). Captum is pure Python: CAPTUM_SRC is a
checkout of its v0.8.0 tag (the folder that holds the `captum` package).
CI never runs this; it reads test/fixtures/methods/method_refs.json.

What comes from where:
- Integrated Gradients with non-zero and random baselines (several quadrature
  rules), layer IG at the text model's embedding from an <unk> baseline,
  Saliency, Input x Gradient and Grad-CAM (LayerGradCam, its map upsampled
  with LayerAttribution.interpolate): Captum itself.
- NoiseTunnel (smoothgrad, smoothgrad_sq, vargrad over saliency, input x
  gradient and IG) and GradientSHAP: Captum draws its own noise and baselines,
  so the reference feeds onnx-explain's noise instead: the documented seeded
  generator (xorshift32 + Box-Muller, `randomSource` in core's
  gradientMethods.ts) is re-implemented below, its draws are fed to Captum's
  per-sample attributions (Saliency, InputXGradient, IntegratedGradients) and
  to autograd for GradientSHAP's points, and the results are averaged by the
  methods' definitions. Grad-CAM's channel weights (mean gradient over the
  layer's spatial axes) come from autograd with a forward hook.
- The CLI's image preprocessing: PIL decodes a small PNG written here, and
  torch.nn.functional.interpolate (bilinear, half-pixel, no antialias)
  resizes it before the mean/std normalisation.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "methods")
sys.path.insert(0, HERE)
sys.path.insert(0, os.environ.get("CAPTUM_SRC", ""))

import captum  # noqa: E402
from captum.attr import (  # noqa: E402
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    LayerIntegratedGradients,
    Saliency,
)

import make_models as mm  # noqa: E402
from make_grad_refs import onnx_weights  # noqa: E402

assert captum.__version__ == "0.8.0", f"Captum 0.8.0 expected, found {captum.__version__} (set CAPTUM_SRC)"


class RandomSource:
    """core's randomSource(seed): xorshift32 uniform in (0, 1), Box-Muller normal with a spare."""

    def __init__(self, seed=1):
        s = seed & 0xFFFFFFFF
        self.s = s if s else 0x9E3779B9
        self.spare = None

    def uniform(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return (s + 0.5) / 4294967296

    def normal(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        u, v = self.uniform(), self.uniform()
        r = math.sqrt(-2 * math.log(u))
        self.spare = r * math.sin(2 * math.pi * v)
        return r * math.cos(2 * math.pi * v)


def rebuilt(module, file):
    module.load_state_dict(onnx_weights(os.path.join(HERE, file)))
    return module.eval().double()


def sample(f):
    return torch.from_numpy(np.load(os.path.join(HERE, "samples", f)))


def tensor_json(t):
    t = torch.as_tensor(t)
    dtype = "int64" if t.dtype == torch.int64 else "float32"
    return {"shape": list(t.shape), "dtype": dtype, "data": t.reshape(-1).tolist()}


def ours_rows(t):
    """Values as onnx-explain receives them: float32 (the reference itself runs in float64 on those values)."""
    return t.float().double() if t.is_floating_point() else t


def noise_tunnel(attribute, x, stdev, samples, kind, seed=1):
    """The base attribution over noisy copies, with core's noise stream: sample by sample, element by element (row-major over the batch)."""
    rnd = RandomSource(seed)
    per_sample = []
    for _ in range(samples):
        eps = torch.tensor([rnd.normal() for _ in range(x.numel())], dtype=torch.float64).reshape(x.shape)
        # core computes x + stdev * noise in float64 and stores it as float32
        noisy = (x + stdev * eps).float().double()
        per_sample.append(attribute(noisy))
    a = torch.stack(per_sample)
    mean, sq = a.mean(0), (a * a).mean(0)
    return {"smoothgrad": mean, "smoothgrad_sq": sq, "vargrad": sq - mean * mean}[kind]


def gradient_shap(model, x, baselines, targets, samples, seed=1, stdev=0.0):
    """GradientSHAP by its definition (Captum's GradientShap, SHAP's GradientExplainer) with core's draws:
    per (example, sample) a baseline row and an alpha, then, with stdev, noise on the input x' = x + eps;
    the point is b + alpha (x' - b) and the attribution the mean of grad * (x' - b)."""
    rnd = RandomSource(seed)
    n, rows = x.shape[0], baselines.shape[0]
    draws = [(int(rnd.uniform() * rows), rnd.uniform()) for _ in range(n * samples)]
    per = x[0].numel()
    noisy = [x[j // samples : j // samples + 1] for j in range(n * samples)]
    if stdev:
        noisy = [(xj + stdev * torch.tensor([rnd.normal() for _ in range(per)], dtype=torch.float64).reshape(xj.shape)).float().double() for xj in noisy]
    attr = torch.zeros_like(x)
    fb = torch.zeros(n, dtype=torch.float64)
    for j, (b, a) in enumerate(draws):
        e = j // samples
        base = baselines[b : b + 1]
        xj = noisy[j]
        point = (base + a * (xj - base)).float().double()
        point.requires_grad_(True)
        (g,) = torch.autograd.grad(model(point)[0, targets[e]], point)
        attr[e] += (g[0] * (xj[0] - base[0])) / samples
        with torch.no_grad():
            fb[e] += model(base)[0, targets[e]] / samples
    with torch.no_grad():
        fx = model(x)[torch.arange(n), torch.tensor(targets)]
    delta = attr.reshape(n, -1).sum(1) - (fx - fb)
    return attr, delta, draws


def grad_cam_weights(model, layer, x, targets):
    acts = {}
    h = layer.register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
    out = model(x)
    h.remove()
    sel = out[torch.arange(len(targets)), torch.tensor(targets)].sum()
    (g,) = torch.autograd.grad(sel, acts["a"])
    return g.mean(dim=(2, 3))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cases = []

    def add(name, model, method, inputs, options, expected, **extra):
        cases.append({"name": name, "model": model, "method": method, "inputs": {k: tensor_json(v) for k, v in inputs.items()},
                      "options": options, "expected": {k: tensor_json(v.detach()) for k, v in expected.items()}, **extra})

    digits = rebuilt(mm.DigitsCNN(), "digits_cnn.onnx")
    tabular = rebuilt(mm.TabularMLP(np.zeros(30), np.ones(30)), "tabular_mlp.onnx")
    vocab = json.load(open(os.path.join(HERE, "text_vocab.json")))
    text = rebuilt(mm.TextClassifier(len(vocab)), "text_classifier.onnx")

    xd = ours_rows(torch.cat([sample("digit_3.npy"), sample("digit_7.npy")]))
    td = [3, 1]  # class 1 is not the top class of either
    xt = ours_rows(torch.cat([sample("patient_0.npy"), sample("patient_1.npy")]))
    tt = [1, 0]
    ids = torch.cat([sample("review_positive.npy"), sample("review_negative.npy")])

    # ---- Integrated Gradients from non-zero and random baselines (Captum)
    rand_digits = ours_rows(torch.from_numpy(rng.uniform(0, 1, size=tuple(xd.shape))))
    rand_tab = ours_rows(xt * torch.from_numpy(rng.uniform(0.5, 1.5, size=tuple(xt.shape))))
    for method in ["gausslegendre", "riemann_trapezoid", "riemann_middle"]:
        ig = IntegratedGradients(digits)
        a, d = ig.attribute(xd, baselines=0.5, target=td, n_steps=20, method=method, return_convergence_delta=True)
        note = None
        if method == "riemann_trapezoid":
            # Captum 0.8's trapezoid weights are 1/n with halved ends: they sum to (n-1)/n, so its attributions
            # fall short of F(x) - F(baseline) by 1/n. onnx-explain uses the trapezoid rule (weights 1/(n-1) with
            # halved ends, summing to 1) at the same points: Captum's attributions times n/(n-1).
            gap = a.reshape(2, -1).sum(1) - d
            a = a * 20 / 19
            d = a.reshape(2, -1).sum(1) - gap
            note = "Captum's riemann_trapezoid attributions times n/(n-1): the trapezoid rule's weights sum to 1, Captum 0.8's to (n-1)/n"
        add(f"IG digits constant baseline 0.5 {method}", "digits_cnn.onnx", "ig", {"image": xd},
            {"target": td, "steps": 20, "integration": method, "baselines": 0.5}, {"image": a}, delta=d.tolist(), note=note)
    for model, file, name, x, t, base in [(digits, "digits_cnn.onnx", "image", xd, td, rand_digits), (tabular, "tabular_mlp.onnx", "features", xt, tt, rand_tab)]:
        for method in ["gausslegendre", "riemann_left"]:
            a, d = IntegratedGradients(model).attribute(x, baselines=base, target=t, n_steps=20, method=method, return_convergence_delta=True)
            add(f"IG {file} random baseline per row {method}", file, "ig", {name: x},
                {"target": t, "steps": 20, "integration": method, "baselines": {"tensor": tensor_json(base)}}, {name: a}, delta=d.tolist())
    unk = torch.full_like(ids, vocab["<unk>"])
    lig = LayerIntegratedGradients(text, text.embedding)
    a, d = lig.attribute(ids, baselines=unk, target=[1, 0], n_steps=20, method="gausslegendre", return_convergence_delta=True)
    add("layer IG text at the embedding from <unk> tokens", "text_classifier.onnx", "ig", {"token_ids": ids},
        {"target": [1, 0], "steps": 20, "at": "/embedding/Gather_output_0", "baselines": {"inputs": {"token_ids": tensor_json(unk)}}},
        {"/embedding/Gather_output_0": a}, delta=d.tolist())

    # ---- Saliency and Input x Gradient (Captum)
    for model, file, name, x, t in [(digits, "digits_cnn.onnx", "image", xd, td), (tabular, "tabular_mlp.onnx", "features", xt, tt)]:
        add(f"saliency {file}", file, "saliency", {name: x}, {"target": t}, {name: Saliency(model).attribute(x, target=t, abs=True)})
        add(f"saliency {file} signed", file, "saliency", {name: x}, {"target": t, "abs": False}, {name: Saliency(model).attribute(x, target=t, abs=False)})
        add(f"input x gradient {file}", file, "input-x-gradient", {name: x}, {"target": t}, {name: InputXGradient(model).attribute(x, target=t)})

    # ---- Grad-CAM (Captum's LayerGradCam; weights by autograd)
    for idx, layer_name in [(3, "/features/features.3/Relu_output_0"), (4, "/features/features.4/MaxPool_output_0")]:
        layer = digits.features[idx]
        cam = LayerGradCam(digits, layer).attribute(xd, target=td, relu_attributions=True)
        up = LayerAttribution.interpolate(cam, (8, 8), "bilinear")
        weights = grad_cam_weights(digits, layer, xd, td)
        add(f"grad-cam digits at {layer_name}", "digits_cnn.onnx", "grad-cam", {"image": xd}, {"target": td, "layer": layer_name},
            {"cam": cam[:, 0], "heatmap": up[:, 0], "weights": weights})

    # ---- NoiseTunnel with core's noise fed to Captum's per-sample attributions
    sal = lambda m, t: (lambda z: Saliency(m).attribute(z, target=t, abs=True))
    ixg = lambda m, t: (lambda z: InputXGradient(m).attribute(z, target=t))
    igz = lambda m, t: (lambda z: IntegratedGradients(m).attribute(z, target=t, n_steps=8, method="gausslegendre"))
    for kind in ["smoothgrad", "smoothgrad_sq", "vargrad"]:
        add(f"noise tunnel saliency {kind} digits", "digits_cnn.onnx", "noise-tunnel", {"image": xd},
            {"target": td, "type": kind, "samples": 4, "stdev": 0.15, "seed": 1}, {"image": noise_tunnel(sal(digits, td), xd, 0.15, 4, kind)})
    add("noise tunnel input x gradient smoothgrad tabular", "tabular_mlp.onnx", "noise-tunnel", {"features": xt},
        {"target": tt, "base": "input-x-gradient", "samples": 3, "stdev": 2.0, "seed": 5}, {"features": noise_tunnel(ixg(tabular, tt), xt, 2.0, 3, "smoothgrad", seed=5)})
    add("noise tunnel IG vargrad digits", "digits_cnn.onnx", "noise-tunnel", {"image": xd},
        {"target": td, "base": "integrated-gradients", "type": "vargrad", "steps": 8, "samples": 3, "stdev": 0.1, "seed": 2},
        {"image": noise_tunnel(igz(digits, td), xd, 0.1, 3, "vargrad", seed=2)})

    # ---- GradientSHAP by definition, with core's draws of baseline rows and alphas
    dist_digits = ours_rows(torch.from_numpy(rng.uniform(0, 1, size=(3, 1, 8, 8))))
    a, d, draws = gradient_shap(digits, xd, dist_digits, td, 6, seed=4)
    add("gradient shap digits, 3 baseline rows", "digits_cnn.onnx", "gradient-shap", {"image": xd},
        {"target": td, "samples": 6, "seed": 4, "baselines": {"tensor": tensor_json(dist_digits)}}, {"image": a}, delta=d.tolist(), draws=draws)
    a, d, draws = gradient_shap(digits, xd, dist_digits, td, 4, seed=6, stdev=0.1)
    add("gradient shap digits, noise on the input (stdev 0.1)", "digits_cnn.onnx", "gradient-shap", {"image": xd},
        {"target": td, "samples": 4, "seed": 6, "stdev": 0.1, "baselines": {"tensor": tensor_json(dist_digits)}}, {"image": a}, delta=d.tolist(), draws=draws)
    dist_tab = ours_rows(torch.cat([sample("patient_1.npy"), sample("patient_0.npy") * 0.9]))
    a, d, draws = gradient_shap(tabular, xt, dist_tab, tt, 5, seed=9)
    add("gradient shap tabular, 2 baseline rows", "tabular_mlp.onnx", "gradient-shap", {"features": xt},
        {"target": tt, "samples": 5, "seed": 9, "baselines": {"tensor": tensor_json(dist_tab)}}, {"features": a}, delta=d.tolist(), draws=draws)

    # ---- the CLI on digit_3 (one example, as the CLI reads it; its seed is 1)
    x3 = ours_rows(sample("digit_3.npy"))
    cli = {
        "saliency": Saliency(digits).attribute(x3, target=3, abs=True),
        "smoothgrad": noise_tunnel(sal(digits, 3), x3, 0.2, 5, "smoothgrad", seed=1),
        "gradient-shap": gradient_shap(digits, x3, torch.zeros(1, 1, 8, 8, dtype=torch.float64), [3], 7, seed=1)[0],
        "grad-cam": LayerGradCam(digits, digits.features[3]).attribute(x3, target=3, relu_attributions=True)[:, 0],
        "ig-baseline": IntegratedGradients(digits).attribute(x3, baselines=0.25, target=3, n_steps=16, method="gausslegendre"),
    }

    # ---- the CLI's image preprocessing: a 7x5 RGB PNG resized to 4x6 (down in height, up in width), mean/std, both layouts
    from PIL import Image
    pixels = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(os.path.join(OUT, "tiny_rgb.png"))
    img = torch.from_numpy(np.asarray(Image.open(os.path.join(OUT, "tiny_rgb.png")).convert("RGB"))).double().permute(2, 0, 1)[None]
    resized = F.interpolate(img, size=(4, 6), mode="bilinear", align_corners=False)
    mean, std = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64), torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64)
    nchw = (resized / 255 - mean[None, :, None, None]) / std[None, :, None, None]
    lum = 0.299 * resized[:, 0] + 0.587 * resized[:, 1] + 0.114 * resized[:, 2]
    preprocessing = {
        "png": "tiny_rgb.png", "size": [4, 6], "mean": mean.tolist(), "std": std.tolist(),
        "nchw": tensor_json(nchw), "nhwc": tensor_json(nchw.permute(0, 2, 3, 1)), "grey": tensor_json((lum / 255)[:, None]),
    }

    with open(os.path.join(OUT, "method_refs.json"), "w") as f:
        json.dump({"captum": captum.__version__, "torch": torch.__version__, "cases": cases,
                   "cli": {k: tensor_json(v.detach()) for k, v in cli.items()}, "preprocessing": preprocessing}, f)
    print(f"{len(cases)} method cases, {len(cli)} CLI references, preprocessing reference -> {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
