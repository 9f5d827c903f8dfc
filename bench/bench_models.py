#!/usr/bin/python3
"""The Python side of `pnpm bench`: exports the bench models, then serves timings.

  bench_models.py export   writes bench/models/ (not committed: ResNet-18 alone is 45 MB):
      tv_resnet18, tv_mobilenet_v2, tv_squeezenet1_1, tv_efficientnet_b0
          torchvision's own architectures (random seeded weights, eval mode),
          exported by torch.onnx.export at opset 17, 3x224x224 -> 1000 classes;
      encoder128  a 2-layer transformer encoder over 128 token ids (d=128, 4 heads);
      image224.npy, tokens128.npy  the inputs.
  bench_models.py serve    answers JSON requests on stdin, one per line, with one
      JSON line on stdout: {"op": "captum" | "eager" | "forward" | "perturb" | "modified", "key": ..., ...}.
      ig-bench.js alternates these with its own runs, in one process each, so
      both sides are timed in the same minutes on the same machine.

Contestants, on the same weights and inputs:
  captum  Captum's IntegratedGradients.attribute(x, target=0, n_steps, method=
          'gausslegendre', internal_batch_size) (CAPTUM_SRC names Captum's
          source tree; without it, "not timed");
  eager   IG written by hand in PyTorch eager, all steps in one batch.
For layer IG (text models) both integrate over the embedding output, as
onnx-explain's --at does: the model from its embeddings, baseline zeros.
The shipped models (models/*.onnx) are rebuilt from their ONNX weights.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models")
MODELS = os.path.join(HERE, "..", "models")
sys.path.insert(0, MODELS)


class EncoderLayer(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d)
        self.ln2 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, 4 * d)
        self.ff2 = nn.Linear(4 * d, d)

    def forward(self, x, pad):
        n, t, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        split = lambda z: z.reshape(n, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        att = torch.softmax(scores.masked_fill(pad, -1e4), dim=-1) @ v
        x = self.ln1(x + self.proj(att.transpose(1, 2).reshape(n, t, d)))
        return self.ln2(x + self.ff2(F.gelu(self.ff1(x))))


class Encoder128(nn.Module):
    def __init__(self, vocab=1000, d=128, heads=4, layers=2, seq=128):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
        self.layers = nn.ModuleList([EncoderLayer(d, heads) for _ in range(layers)])
        self.head = nn.Linear(d, 2)

    def forward_from_embeddings(self, emb, ids):
        x = emb + self.pos
        pad = (ids == 0)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, pad)
        keep = (ids != 0).float().unsqueeze(-1)
        return self.head((x * keep).sum(1) / keep.sum(1))

    def forward(self, ids):
        return self.forward_from_embeddings(self.embedding(ids), ids)



def export(model, x, name, input_name, opset=17):
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, x, path, input_names=[input_name], output_names=["logits"],
                      dynamic_axes={input_name: {0: "batch"}, "logits": {0: "batch"}}, opset_version=opset)
    return path


TORCHVISION = ["resnet18", "mobilenet_v2", "squeezenet1_1", "efficientnet_b0"]


def torchvision_model(arch):
    import torchvision
    torch.manual_seed(0)
    return getattr(torchvision.models, arch)(weights=None).eval()


def encoder():
    torch.manual_seed(0)
    return Encoder128().eval()


def do_export():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 224, 224, generator=g)
    np.save(os.path.join(OUT, "image224.npy"), x.numpy())
    for arch in TORCHVISION:
        export(torchvision_model(arch), x, "tv_" + arch, "image")
        print(f"exported tv_{arch}", file=sys.stderr, flush=True)
    ids = torch.randint(1, 1000, (1, 128), generator=g)
    ids[0, 100:] = 0
    np.save(os.path.join(OUT, "tokens128.npy"), ids.numpy())
    export(encoder(), ids, "encoder128", "token_ids")


def shipped(key):
    """(forward, IG function, IG input) of a shipped model, from its ONNX weights."""
    import make_models as mm
    import onnx
    from onnx import numpy_helper

    def weights(file):
        return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(os.path.join(MODELS, file)).graph.initializer}

    sample = lambda f: torch.from_numpy(np.load(os.path.join(MODELS, "samples", f)))
    if key == "digits_cnn":
        m = mm.DigitsCNN()
        m.load_state_dict(weights("digits_cnn.onnx"))
        return m.eval(), m.eval(), sample("digit_3.npy")
    if key == "tabular_mlp":
        m = mm.TabularMLP(np.zeros(30), np.ones(30))
        m.load_state_dict(weights("tabular_mlp.onnx"))
        return m.eval(), m.eval(), sample("patient_0.npy")
    if key == "text_classifier":
        m = mm.TextClassifier(len(json.load(open(os.path.join(MODELS, "text_vocab.json")))))
        m.load_state_dict(weights("text_classifier.onnx"))
        m.eval()
        ids = sample("review_positive.npy")

        def from_embeddings(e):
            orig = m.embedding.forward
            m.embedding.forward = lambda _ids: e
            try:
                return m(ids.repeat(e.shape[0], 1))
            finally:
                m.embedding.forward = orig

        return (lambda b: m(ids.repeat(b.shape[0], 1))), from_embeddings, m.embedding(ids).detach()
    raise KeyError(key)


def load(key):
    """(forward on a batch of the input, IG function, IG input, forward input)."""
    if key.startswith("tv_"):
        m = torchvision_model(key[3:])
        x = torch.from_numpy(np.load(os.path.join(OUT, "image224.npy")))
        return m, m, x, x
    if key == "encoder128":
        m = encoder()
        ids = torch.from_numpy(np.load(os.path.join(OUT, "tokens128.npy")))
        return (lambda b: m(ids.repeat(b.shape[0], 1))), (lambda e: m.forward_from_embeddings(e, ids.repeat(e.shape[0], 1))), m.embedding(ids).detach(), ids
    fwd, fn, x = shipped(key)
    return fwd, fn, x, x


def eager_ig(fn, x, target, steps):
    """IG in PyTorch eager, all steps in one batch, zero baseline."""
    xg, wg = np.polynomial.legendre.leggauss(steps)
    alphas = torch.tensor(0.5 * (xg + 1), dtype=x.dtype).reshape(-1, *([1] * (x.dim() - 1)))
    weights = torch.tensor(0.5 * wg, dtype=x.dtype).reshape(-1, *([1] * (x.dim() - 1)))
    points = (alphas * x).requires_grad_(True)
    out = fn(points)
    (g,) = torch.autograd.grad(out[:, target].sum(), points)
    return x[0] * (weights * g).sum(0)


def grid_mask(x, cells):
    """onnx-explain's grid:CxC over an [N, C, H, W] image: every channel of a cell one feature."""
    h, w = x.shape[-2:]
    ys = torch.arange(h).reshape(h, 1) * cells // h
    xs = torch.arange(w).reshape(1, w) * cells // w
    return (ys * cells + xs).reshape(1, 1, h, w).expand(1, x.shape[1], h, w)


def captum_perturbation(fwd, x, req):
    """One Captum 0.8 perturbation method, as perturbation-bench.js asks for it; returns (attributions, rows run)."""
    from captum.attr import FeatureAblation, FeaturePermutation, KernelShap, Lime, Occlusion, ShapleyValueSampling
    from captum._utils.models.linear_model import SkLearnLinearRegression

    rows = [0]

    def counted(b):
        rows[0] += b.shape[0]
        return fwd(b)

    if req.get("batch"):
        x = torch.from_numpy(np.load(req["batch"]))
    ppe = req["ppe"]
    mask = grid_mask(x, req["grid"]) if req.get("grid") else None
    m = req["method"]
    with torch.no_grad():
        if m == "occlusion":
            a = Occlusion(counted).attribute(x, sliding_window_shapes=tuple(req["window"]), strides=1, target=0, perturbations_per_eval=ppe)
        elif m == "feature-ablation":
            a = FeatureAblation(counted).attribute(x, feature_mask=mask, target=0, perturbations_per_eval=ppe)
        elif m == "feature-permutation":
            a = FeaturePermutation(counted).attribute(x, feature_mask=mask, target=0, perturbations_per_eval=ppe)
        elif m == "shapley-sampling":
            a = ShapleyValueSampling(counted).attribute(x, feature_mask=mask, n_samples=req["samples"], target=0, perturbations_per_eval=ppe)
        elif m == "kernel-shap":
            a = KernelShap(counted).attribute(x, feature_mask=mask, n_samples=req["samples"], target=0, perturbations_per_eval=ppe)
        elif m == "lime":
            a = Lime(counted, interpretable_model=SkLearnLinearRegression()).attribute(x, feature_mask=mask, n_samples=req["samples"], target=0, perturbations_per_eval=ppe)
        else:
            raise KeyError(m)
    return a, rows[0]


def serve():
    captum_ig = None
    src = os.environ.get("CAPTUM_SRC")
    if src:
        sys.path.insert(0, src)
        import captum
        from captum.attr import IntegratedGradients
        captum_ig = IntegratedGradients
    cache = {}
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "captum": getattr(captum, "__version__", None) if src else None}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        key = req["key"]
        if key not in cache:
            cache[key] = load(key)
        fwd, fn, x, fx = cache[key]
        op = req["op"]
        out = {}
        t0 = time.perf_counter()
        if op == "forward":
            with torch.no_grad():
                fwd(fx.repeat(req["batch"], *([1] * (fx.dim() - 1))))
        elif op == "eager":
            eager_ig(fn, x, 0, req["steps"])
        elif op == "captum":
            if captum_ig is None:
                out["error"] = "not timed: CAPTUM_SRC is not set"
            else:
                a = captum_ig(fn).attribute(x, target=0, n_steps=req["steps"], method="gausslegendre", internal_batch_size=req["ibs"])
                if req.get("save"):
                    np.save(req["save"], a.detach().numpy().astype(np.float32))
        elif op == "modified":
            if not src:
                out["error"] = "not timed: CAPTUM_SRC is not set"
            else:
                from captum.attr import LRP, DeepLift, DeepLiftShap, Deconvolution, GuidedBackprop, GuidedGradCam
                m = req["method"]
                cls = {"guided-backprop": GuidedBackprop, "deconvolution": Deconvolution, "deeplift": DeepLift, "lrp": LRP,
                       "guided-grad-cam": GuidedGradCam, "deeplift-shap": DeepLiftShap}[m]
                try:
                    if m == "guided-grad-cam":
                        cls(fwd, fwd.layer4).attribute(x, target=0)
                    elif m == "deeplift-shap":
                        # the distribution modified-bench.js gives onnx-explain: the image scaled by 0, 0.1, ..., 0.4
                        cls(fwd).attribute(x, baselines=torch.cat([x * (0.1 * k) for k in range(5)]), target=0)
                    else:
                        cls(fwd).attribute(x, target=0)
                except Exception as e:  # Captum refuses some models (DeepLift on reused modules): say why, do not time
                    out["error"] = f"not timed: Captum {cls.__name__} failed: {str(e).splitlines()[0][:160]}"
        elif op == "perturb":
            if not src:
                out["error"] = "not timed: CAPTUM_SRC is not set"
            else:
                a, out["rows"] = captum_perturbation(fwd, x, req)
                if req.get("save"):
                    np.save(req["save"], a.detach().numpy().astype(np.float32))
        else:
            out["error"] = f"unknown op {op}"
        out["ms"] = (time.perf_counter() - t0) * 1e3
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1)))
    {"export": do_export, "serve": serve}[sys.argv[1]]()
