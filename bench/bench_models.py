#!/usr/bin/python3
"""Models for `pnpm bench`, and the PyTorch-eager reference timings.

Exports, into bench/models/ (not committed: ResNet-18 alone is 45 MB):
  resnet18.onnx        ResNet-18 (torchvision's layout), 3x224x224, 1000 classes
  mobilenetv2.onnx     MobileNetV2 (width 1.0), 3x224x224, 1000 classes
  encoder128.onnx      a 2-layer transformer encoder over 128 token ids (d=128, 4 heads)
and times, on the same weights and inputs, Integrated Gradients in PyTorch
eager (50 Gauss-Legendre steps, all steps in one batch, as Captum does by
default), one forward pass at batch 1, and one at batch 50. The shipped
models (models/digits_cnn.onnx, models/tabular_mlp.onnx) are rebuilt from
their ONNX weights and timed too. Writes bench/models/torch_timings.json.

Weights are random (seeded): the bench measures cost, not accuracy.
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
sys.path.insert(0, os.path.join(HERE, "..", "models"))
from make_grad_refs import BasicBlock, randomize_bn  # noqa: E402  (same blocks as the gradient references)


class ResNet18(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        layers = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()]
        cin = 32
        for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))


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


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def torch_ig(fn, x, target, steps=50):
    """IG in PyTorch eager, all steps in one batch (Captum's default)."""
    xg, wg = np.polynomial.legendre.leggauss(steps)
    alphas = torch.tensor(0.5 * (xg + 1), dtype=x.dtype).reshape(-1, *([1] * (x.dim() - 1)))
    weights = torch.tensor(0.5 * wg, dtype=x.dtype).reshape(-1, *([1] * (x.dim() - 1)))
    points = (alphas * x).requires_grad_(True)
    out = fn(points)
    (g,) = torch.autograd.grad(out[:, target].sum(), points)
    return x[0] * (weights * g).sum(0)


def time_model(name, model, x, fn=None, ig_x=None, repeat=3):
    fn = fn or model
    ig_x = ig_x if ig_x is not None else x
    with torch.no_grad():
        f1 = median_time(lambda: model(x), repeat * 3)
        xb = x.repeat(50, *([1] * (x.dim() - 1)))
        fb = median_time(lambda: model(xb), repeat)
    torch_ig(fn, ig_x, 0, 4)  # warm up autograd
    ig = median_time(lambda: torch_ig(fn, ig_x, 0, 50), repeat)
    print(f"{name}: torch forward b1 {f1 * 1e3:.1f} ms, b50 {fb * 1e3:.1f} ms, IG(50) {ig * 1e3:.1f} ms", flush=True)
    return {"forward_b1_ms": f1 * 1e3, "forward_b50_ms": fb * 1e3, "ig_ms": ig * 1e3}


def export(model, x, name, input_name, opset=13):
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, x, path, input_names=[input_name], output_names=["logits"],
                      dynamic_axes={input_name: {0: "batch"}, "logits": {0: "batch"}}, opset_version=opset)
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1)))
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    timings = {"torch": torch.__version__, "threads": torch.get_num_threads(), "models": {}}

    import make_models as mm
    from onnx import numpy_helper
    import onnx

    def weights(file):
        return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(os.path.join(HERE, "..", "models", file)).graph.initializer}

    cnn = mm.DigitsCNN()
    cnn.load_state_dict(weights("digits_cnn.onnx"))
    x = torch.from_numpy(np.load(os.path.join(HERE, "..", "models", "samples", "digit_3.npy")))
    timings["models"]["digits_cnn"] = time_model("digits_cnn", cnn.eval(), x, repeat=7)

    mlp = mm.TabularMLP(np.zeros(30), np.ones(30))
    mlp.load_state_dict(weights("tabular_mlp.onnx"))
    x = torch.from_numpy(np.load(os.path.join(HERE, "..", "models", "samples", "patient_0.npy")))
    timings["models"]["tabular_mlp"] = time_model("tabular_mlp", mlp.eval(), x, repeat=7)

    txt = mm.TextClassifier(len(json.load(open(os.path.join(HERE, "..", "models", "text_vocab.json")))))
    txt.load_state_dict(weights("text_classifier.onnx"))
    txt.eval()
    ids = torch.from_numpy(np.load(os.path.join(HERE, "..", "models", "samples", "review_positive.npy")))
    emb = txt.embedding(ids).detach()

    def text_from_embeddings(e):
        orig = txt.embedding.forward
        txt.embedding.forward = lambda _ids: e
        try:
            return txt(ids.repeat(e.shape[0], 1))
        finally:
            txt.embedding.forward = orig

    timings["models"]["text_classifier"] = time_model("text_classifier", txt, ids, fn=text_from_embeddings, ig_x=emb, repeat=7)

    resnet = ResNet18()
    randomize_bn(resnet, g)
    resnet.eval()
    x = torch.rand(1, 3, 224, 224, generator=g)
    np.save(os.path.join(OUT, "image224.npy"), x.numpy())
    export(resnet, x, "resnet18", "image")
    timings["models"]["resnet18"] = time_model("resnet18", resnet, x)

    mobile = MobileNetV2()
    randomize_bn(mobile, g)
    mobile.eval()
    export(mobile, x, "mobilenetv2", "image")
    timings["models"]["mobilenetv2"] = time_model("mobilenetv2", mobile, x)

    enc = Encoder128().eval()
    ids = torch.randint(1, 1000, (1, 128), generator=g)
    ids[0, 100:] = 0
    np.save(os.path.join(OUT, "tokens128.npy"), ids.numpy())
    export(enc, ids, "encoder128", "token_ids", opset=17)
    emb = enc.embedding(ids).detach()
    timings["models"]["encoder128"] = time_model(
        "encoder128", enc, ids, fn=lambda e: enc.forward_from_embeddings(e, ids.repeat(e.shape[0], 1)), ig_x=emb)

    with open(os.path.join(OUT, "torch_timings.json"), "w") as f:
        json.dump(timings, f, indent=1)


if __name__ == "__main__":
    main()
