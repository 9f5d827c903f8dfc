#!/usr/bin/python3
"""Train and export the small models that onnx-explain ships.

Run with Debian's Python (apt-get install python3-torch python3-onnx python3-sklearn):
    /usr/bin/python3 models/make_models.py

Everything is offline: the image and tabular data sets are the ones bundled
with scikit-learn, the text task is synthetic. Seeds are fixed, so a re-run
gives the same weights on the same machine. CI never runs this script; it
runs on the committed .onnx files and samples.

Outputs (in models/):
  digits_cnn.onnx        8x8 grey digit images [N,1,8,8] in [0,1] -> 10 logits
  tabular_mlp.onnx       30 breast-cancer features [N,30] (raw units) -> 2 logits
  text_classifier.onnx   12 token ids [N,12] (int64, 0 = pad) -> 2 logits
  text_vocab.json        the text model's token -> id mapping
  samples/*.npy, *.json  a few inputs per model, with PyTorch's outputs for them
  models.json            what each model is, its accuracy and its samples
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "samples")


def train(model, x, y, epochs, lr=1e-2, batch=64):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    model.eval()


def accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def export(model, example, path, opset, input_name, output_name="logits"):
    torch.onnx.export(
        model,
        example,
        path,
        input_names=[input_name],
        output_names=[output_name],
        dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
        opset_version=opset,
        do_constant_folding=True,
    )


def save_sample(name, array, model):
    """Writes the input as .npy and .json, and returns PyTorch's output for it."""
    np.save(os.path.join(SAMPLES, name + ".npy"), array)
    dtype = str(array.dtype)
    with open(os.path.join(SAMPLES, name + ".json"), "w") as f:
        json.dump({"shape": list(array.shape), "dtype": dtype, "data": array.reshape(-1).tolist()}, f)
    with torch.no_grad():
        out = model(torch.from_numpy(array)).numpy()
    return {"input": f"samples/{name}.npy", "input_json": f"samples/{name}.json",
            "torch_output": out.reshape(-1).astype(float).tolist(), "output_shape": list(out.shape)}


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class TabularMLP(nn.Module):
    """Standardisation is part of the model, so users feed raw feature values."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.net = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


class TextClassifier(nn.Module):
    """Embedding, mean over non-pad tokens, a small MLP."""

    def __init__(self, vocab, dim=16):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.head = nn.Sequential(nn.Linear(dim, 16), nn.Tanh(), nn.Linear(16, 2))

    def forward(self, ids):
        mask = (ids != 0).float().unsqueeze(-1)
        emb = self.embedding(ids) * mask
        pooled = emb.sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled)


POSITIVE = ["good", "great", "excellent", "love", "wonderful", "best", "fun", "happy"]
NEGATIVE = ["bad", "awful", "terrible", "hate", "boring", "worst", "sad", "poor"]
NEUTRAL = ["the", "a", "movie", "film", "was", "is", "it", "and", "plot", "actors", "this", "very",
           "story", "ending", "really", "quite", "music", "scene", "i", "we"]
SEQ_LEN = 12


def make_text_data(rng, n):
    """Label 1 when a sentence has more positive than negative words (ties are dropped)."""
    vocab = ["<pad>", "<unk>"] + POSITIVE + NEGATIVE + NEUTRAL
    ids = {w: i for i, w in enumerate(vocab)}
    xs, ys = [], []
    while len(xs) < n:
        length = rng.integers(4, SEQ_LEN + 1)
        words = list(rng.choice(NEUTRAL, size=length))
        npos, nneg = rng.integers(0, 4), rng.integers(0, 4)
        if npos == nneg:
            continue
        for w in rng.choice(POSITIVE, size=npos):
            words[rng.integers(0, length)] = w
        for w in rng.choice(NEGATIVE, size=nneg):
            words[rng.integers(0, length)] = w
        p = sum(w in POSITIVE for w in words)
        q = sum(w in NEGATIVE for w in words)
        if p == q:
            continue
        row = [ids[w] for w in words] + [0] * (SEQ_LEN - length)
        xs.append(row)
        ys.append(1 if p > q else 0)
    return vocab, np.array(xs, dtype=np.int64), np.array(ys, dtype=np.int64)


def main():
    torch.manual_seed(0)
    os.makedirs(SAMPLES, exist_ok=True)
    info = {}

    # Digits CNN
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.25, random_state=0)
    cnn = DigitsCNN()
    train(cnn, torch.from_numpy(xtr), torch.from_numpy(ytr), epochs=30, lr=3e-3)
    acc = accuracy(cnn, torch.from_numpy(xte), torch.from_numpy(yte))
    export(cnn, torch.from_numpy(xte[:1]), os.path.join(HERE, "digits_cnn.onnx"), 13, "image")
    info["digits_cnn"] = {
        "file": "digits_cnn.onnx", "task": "8x8 handwritten digit classification (scikit-learn digits)",
        "input": "image float32 [N,1,8,8], pixel values in [0,1]", "output": "logits [N,10]",
        "opset": 13, "test_accuracy": acc,
        # one test image each of 0, 3 and 7
        "samples": {f"digit_{c}": save_sample(f"digit_{c}", xte[i : i + 1], cnn)
                    for c in (0, 3, 7) for i in [int(np.flatnonzero(yte == c)[0])]},
    }

    # Tabular MLP
    b = load_breast_cancer()
    xtr, xte, ytr, yte = train_test_split(b.data.astype(np.float32), b.target, test_size=0.25, random_state=0)
    mlp = TabularMLP(xtr.mean(0), xtr.std(0) + 1e-6)
    train(mlp, torch.from_numpy(xtr), torch.from_numpy(ytr), epochs=60, lr=3e-3)
    acc = accuracy(mlp, torch.from_numpy(xte), torch.from_numpy(yte))
    export(mlp, torch.from_numpy(xte[:1]), os.path.join(HERE, "tabular_mlp.onnx"), 17, "features")
    info["tabular_mlp"] = {
        "file": "tabular_mlp.onnx", "task": "breast cancer diagnosis (scikit-learn breast_cancer): 0 malignant, 1 benign",
        "input": "features float32 [N,30], raw units", "output": "logits [N,2]",
        "feature_names": [str(n) for n in b.feature_names], "class_names": [str(n) for n in b.target_names],
        "opset": 17, "test_accuracy": acc,
        "samples": {f"patient_{i}": save_sample(f"patient_{i}", xte[i : i + 1], mlp) for i in range(2)},
    }

    # Text classifier
    rng = np.random.default_rng(0)
    vocab, tx, ty = make_text_data(rng, 4000)
    txtr, txte, tytr, tyte = train_test_split(tx, ty, test_size=0.25, random_state=0)
    txt = TextClassifier(len(vocab))
    train(txt, torch.from_numpy(txtr), torch.from_numpy(tytr), epochs=40, lr=1e-2)
    acc = accuracy(txt, torch.from_numpy(txte), torch.from_numpy(tyte))
    export(txt, torch.from_numpy(txte[:1]), os.path.join(HERE, "text_classifier.onnx"), 14, "token_ids")
    with open(os.path.join(HERE, "text_vocab.json"), "w") as f:
        json.dump({w: i for i, w in enumerate(vocab)}, f, indent=0)
    sentences = {"review_positive": "the movie was great and the actors were fun",
                 "review_negative": "a boring plot and the worst ending i really hate it"}
    samples = {}
    ids = {w: i for i, w in enumerate(vocab)}
    for name, s in sentences.items():
        row = [ids.get(w, 1) for w in s.split()][:SEQ_LEN]
        row += [0] * (SEQ_LEN - len(row))
        samples[name] = save_sample(name, np.array([row], dtype=np.int64), txt)
        samples[name]["text"] = s
    info["text_classifier"] = {
        "file": "text_classifier.onnx", "task": "synthetic sentiment: more positive than negative words -> 1",
        "input": f"token_ids int64 [N,{SEQ_LEN}], 0 = pad, see text_vocab.json", "output": "logits [N,2]",
        "embedding_output": "the output of the embedding Gather node", "class_names": ["negative", "positive"],
        "opset": 14, "test_accuracy": acc, "samples": samples,
    }

    with open(os.path.join(HERE, "models.json"), "w") as f:
        json.dump(info, f, indent=1)
    for k, v in info.items():
        print(f"{k}: test accuracy {v['test_accuracy']:.3f}")


if __name__ == "__main__":
    main()
