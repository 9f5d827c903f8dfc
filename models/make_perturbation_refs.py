#!/usr/bin/python3
"""Reference attributions for the perturbation methods (test/methods/captumPerturbation.test.ts),
from Captum 0.8 run on the shipped models rebuilt in PyTorch from their own .onnx weights, in float64.

    CAPTUM_SRC=/path/to/captum-v0.8.0 /usr/bin/python3 models/make_perturbation_refs.py

Same requirements as make_method_refs.py (Debian's python3-torch; Captum's source at its v0.8.0 tag).
CI never runs this; it reads test/fixtures/methods/perturbation_refs.json.

What comes from where, all Captum itself:
- Occlusion: sliding_window_shapes and strides over the digits CNN (a window whose last position runs
  past the image and is cut there; a constant baseline) and the tabular MLP (a baseline row).
- FeatureAblation: the digits CNN over a 4x4 grid of 2x2 cells (the mask built here, as onnx-explain's
  grid:4x4 must build it), the tabular MLP element by element from per-example baselines and over six
  groups of columns, and the text model's token ids, each replaced by <unk>.
- ShapleyValues (exact: every permutation of the features) on the tabular MLP over six groups of
  columns, which onnx-explain's KernelSHAP with every coalition must equal.
"""
import json
import os

import numpy as np
import torch

from make_method_refs import OUT, rebuilt, sample, tensor_json, ours_rows, mm, captum  # noqa: F401  (asserts Captum 0.8)
from captum.attr import FeatureAblation, Occlusion, ShapleyValues


def main():
    rng = np.random.default_rng(1)
    cases = []

    def add(name, model, method, inputs, options, expected):
        cases.append({"name": name, "model": model, "method": method, "inputs": {k: tensor_json(v) for k, v in inputs.items()},
                      "options": options, "expected": {k: tensor_json(v.detach()) for k, v in expected.items()}})

    digits = rebuilt(mm.DigitsCNN(), "digits_cnn.onnx")
    tabular = rebuilt(mm.TabularMLP(np.zeros(30), np.ones(30)), "tabular_mlp.onnx")
    vocab = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "text_vocab.json")))
    text = rebuilt(mm.TextClassifier(len(vocab)), "text_classifier.onnx")

    xd = ours_rows(torch.cat([sample("digit_3.npy"), sample("digit_7.npy")]))
    td = [3, 1]
    xt = ours_rows(torch.cat([sample("patient_0.npy"), sample("patient_1.npy")]))
    tt = [1, 0]
    ids = torch.cat([sample("review_positive.npy"), sample("review_negative.npy")])

    # ---- Occlusion
    a = Occlusion(digits).attribute(xd, sliding_window_shapes=(1, 3, 3), strides=(1, 2, 2), baselines=0.0, target=td)
    add("occlusion digits window 3x3 stride 2 (last window cut)", "digits_cnn.onnx", "occlusion", {"image": xd},
        {"target": td, "window": [3, 3], "strides": [2, 2]}, {"image": a})
    a = Occlusion(digits).attribute(xd, sliding_window_shapes=(1, 2, 2), strides=1, baselines=0.5, target=td)
    add("occlusion digits window 2x2 stride 1 baseline 0.5", "digits_cnn.onnx", "occlusion", {"image": xd},
        {"target": td, "window": [2, 2], "strides": 1, "baselines": 0.5}, {"image": a})
    base_row = ours_rows(xt[:1] * torch.from_numpy(rng.uniform(0.5, 1.5, size=(1, xt.shape[1]))))
    a = Occlusion(tabular).attribute(xt, sliding_window_shapes=(3,), strides=(2,), baselines=base_row, target=tt)
    add("occlusion tabular window 3 stride 2 baseline row", "tabular_mlp.onnx", "occlusion", {"features": xt},
        {"target": tt, "window": [3], "strides": [2], "baselines": {"tensor": tensor_json(base_row)}}, {"features": a})

    # ---- FeatureAblation
    grid = (torch.arange(8).reshape(8, 1) // 2 * 4 + torch.arange(8).reshape(1, 8) // 2).reshape(1, 1, 8, 8)
    a = FeatureAblation(digits).attribute(xd, feature_mask=grid, baselines=0.0, target=td)
    add("feature ablation digits grid 4x4", "digits_cnn.onnx", "feature-ablation", {"image": xd},
        {"target": td, "featureMask": "grid:4x4"}, {"image": a})
    base_rows = ours_rows(xt * torch.from_numpy(rng.uniform(0.5, 1.5, size=tuple(xt.shape))))
    a = FeatureAblation(tabular).attribute(xt, baselines=base_rows, target=tt)
    add("feature ablation tabular per element, baseline per example", "tabular_mlp.onnx", "feature-ablation", {"features": xt},
        {"target": tt, "baselines": {"tensor": tensor_json(base_rows)}}, {"features": a})
    groups = torch.arange(30).reshape(1, 30) // 5
    a = FeatureAblation(tabular).attribute(xt, feature_mask=groups, baselines=0.0, target=tt)
    add("feature ablation tabular six groups of five columns", "tabular_mlp.onnx", "feature-ablation", {"features": xt},
        {"target": tt, "featureMask": {"tensor": tensor_json(groups)}}, {"features": a})
    unk = vocab["<unk>"]
    a = FeatureAblation(text).attribute(ids, baselines=unk, target=[1, 0])
    add("feature ablation text tokens replaced by <unk>", "text_classifier.onnx", "feature-ablation", {"token_ids": ids},
        {"target": [1, 0], "baselines": unk}, {"token_ids": a})

    # ---- exact Shapley values (every permutation) against KernelSHAP over every coalition
    a = ShapleyValues(tabular).attribute(xt, feature_mask=groups, baselines=base_row, target=tt)
    add("shapley values tabular six groups (every permutation)", "tabular_mlp.onnx", "kernel-shap", {"features": xt},
        {"target": tt, "featureMask": {"tensor": tensor_json(groups)}, "baselines": {"tensor": tensor_json(base_row)}}, {"features": a})

    with open(os.path.join(OUT, "perturbation_refs.json"), "w") as f:
        json.dump({"captum": captum.__version__, "torch": torch.__version__, "cases": cases}, f)
    print(f"wrote {len(cases)} cases to {os.path.join(OUT, 'perturbation_refs.json')}")


if __name__ == "__main__":
    main()
