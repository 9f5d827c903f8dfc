#!/usr/bin/python3
"""Tree-ensemble fixtures for the TreeSHAP tests (test/fixtures/trees/), trained here and written as
ONNX-ML nodes with the onnx helper, following the converters' conventions (Debian packages neither
skl2onnx nor onnxmltools):

  rf_classifier.onnx     sklearn RandomForestClassifier, 3 classes, 8 trees of depth 4, 6 features:
                         TreeEnsembleClassifier, BRANCH_LEQ, class_weights = leaf class shares / n_trees
                         (skl2onnx), post_transform NONE.
  rf_zipmap.onnx         the same forest with its probabilities through a ZipMap, as skl2onnx writes by default.
  gb_regressor.onnx      sklearn GradientBoostingRegressor, 20 trees of depth 3, learning rate 0.1:
                         TreeEnsembleRegressor, base_values = [init mean], weights = lr * leaf value.
  gb_binary.onnx         sklearn GradientBoostingClassifier (binary), 15 trees of depth 3: one class id (0),
                         classlabels [0, 1], base_values = [prior log-odds], post_transform LOGISTIC
                         (onnxruntime writes [1 - p, p]).
  xgb_binary_nan.onnx    xgboost binary:logistic trained with missing values, 12 trees of depth 3:
                         BRANCH_LT, nodes_missing_value_tracks_true from each split's default direction
                         (onnxmltools), base_values = [logit(base_score)], post_transform LOGISTIC.
  xgb_multiclass.onnx    xgboost multi:softprob, 3 classes, 6 rounds of depth 3: tree t is class t % 3,
                         post_transform SOFTMAX.
  xgb_regressor_nan.onnx xgboost reg:squarederror with missing values: base_values = [base_score].

trees.json holds, per model, its input rows (with NaN where the model was trained with missing values,
written as null), a background set, and the library's own predictions for the rows (sklearn's
predict / predict_proba, xgboost's predict with output_margin for raw scores), which the tests compare
onnxruntime and the TypeScript forest with.

    /usr/bin/python3 models/make_tree_models.py      (python3-sklearn, python3-xgboost, python3-onnx)
"""
import json
import math
import os

import numpy as np
import onnx
import xgboost as xgb
from onnx import TensorProto, helper
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "trees")


def model_with(node, n_features, outputs):
    graph = helper.make_graph([node], node.name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, n_features])], outputs)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)], producer_name="make_tree_models.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


class Nodes:
    """The nodes_* attributes of a forest, tree by tree."""

    def __init__(self):
        self.a = {k: [] for k in ["treeids", "nodeids", "featureids", "values", "modes", "truenodeids", "falsenodeids", "missing_value_tracks_true", "hitrates"]}
        self.leaves = []  # (tree, node, target, weight)

    def branch(self, t, n, f, v, mode, tn, fn, missing_true=0, hits=1.0):
        for k, x in zip(["treeids", "nodeids", "featureids", "values", "modes", "truenodeids", "falsenodeids", "missing_value_tracks_true", "hitrates"], [t, n, f, v, mode, tn, fn, missing_true, hits]):
            self.a[k].append(x)

    def leaf(self, t, n, weights, hits=1.0):
        self.branch(t, n, 0, 0.0, "LEAF", 0, 0, 0, hits)
        for target, w in weights:
            self.leaves.append((t, n, target, w))

    def attrs(self, prefix):
        out = {f"nodes_{k}": v for k, v in self.a.items()}
        out[f"{prefix}_treeids"] = [l[0] for l in self.leaves]
        out[f"{prefix}_nodeids"] = [l[1] for l in self.leaves]
        out[f"{prefix}_ids"] = [l[2] for l in self.leaves]
        out[f"{prefix}_weights"] = [float(l[3]) for l in self.leaves]
        return out


def add_sklearn_tree(nodes, t, tree, leaf_weights):
    """A fitted sklearn tree_: x[f] <= threshold goes left (BRANCH_LEQ, thresholds as float32)."""
    tr = tree.tree_
    for n in range(tr.node_count):
        if tr.children_left[n] == -1:
            nodes.leaf(t, n, leaf_weights(tr.value[n]), hits=float(tr.n_node_samples[n]))
        else:
            nodes.branch(t, n, int(tr.feature[n]), float(np.float32(tr.threshold[n])), "BRANCH_LEQ", int(tr.children_left[n]), int(tr.children_right[n]), hits=float(tr.n_node_samples[n]))


def add_xgb_booster(nodes, booster, class_of_tree=lambda t: 0):
    """xgboost trees from its JSON dump: x < split goes to `yes` (BRANCH_LT); NaN follows `missing`."""
    for t, text in enumerate(booster.get_dump(dump_format="json", with_stats=True)):
        ids = {}

        def number(node):
            ids.setdefault(node["nodeid"], len(ids))

        stack = [json.loads(text)]
        flat = []
        while stack:
            node = stack.pop()
            flat.append(node)
            for c in node.get("children", []):
                stack.append(c)
        flat.sort(key=lambda n: n["nodeid"])
        for node in flat:
            n = node["nodeid"]
            if "leaf" in node:
                nodes.leaf(t, n, [(class_of_tree(t), node["leaf"])], hits=float(node.get("cover", 1)))
            else:
                f = int(node["split"][1:]) if node["split"].startswith("f") else int(node["split"])
                nodes.branch(t, n, f, float(np.float32(node["split_condition"])), "BRANCH_LT", node["yes"], node["no"], int(node["missing"] == node["yes"]), hits=float(node.get("cover", 1)))


def zipmap_type():
    """seq(map(int64, float)), ZipMap's output (onnx 1.12's helper has no map type maker)."""
    t = onnx.TypeProto()
    t.sequence_type.elem_type.map_type.key_type = TensorProto.INT64
    t.sequence_type.elem_type.map_type.value_type.tensor_type.elem_type = TensorProto.FLOAT
    return t


def data(rng, n, d, missing=0.0):
    x = rng.normal(size=(n, d)).astype(np.float32)
    if missing:
        x[rng.uniform(size=x.shape) < missing] = np.nan
    return x


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(3)
    meta = {}

    def rows(x):
        return [[None if math.isnan(v) else float(v) for v in r] for r in x.tolist()]

    # random forest classifier
    X = data(rng, 300, 6)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 0.8).astype(int)
    rf = RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0).fit(X, y)
    nodes = Nodes()
    for t, est in enumerate(rf.estimators_):
        add_sklearn_tree(nodes, t, est, lambda v: [(c, float(v[0][c] / v[0].sum() / len(rf.estimators_))) for c in range(3)])
    node = helper.make_node("TreeEnsembleClassifier", ["x"], ["label", "probabilities"], name="rf", domain="ai.onnx.ml",
                            classlabels_int64s=[0, 1, 2], post_transform="NONE", **nodes.attrs("class"))
    onnx.save(model_with(node, 6, [helper.make_tensor_value_info("label", TensorProto.INT64, [None]), helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3])]), os.path.join(OUT, "rf_classifier.onnx"))
    # as skl2onnx writes a classifier by default: the probabilities through a ZipMap, a list of {class: probability}
    zipmap = helper.make_node("ZipMap", ["probabilities"], ["output_probability"], name="zipmap", domain="ai.onnx.ml", classlabels_int64s=[0, 1, 2])
    node.output[1] = "probabilities"
    graph = helper.make_graph([node, zipmap], "rf_zipmap", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 6])],
                              [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
                               helper.make_value_info("output_probability", zipmap_type())])
    zm = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)], producer_name="make_tree_models.py")
    zm.ir_version = 8
    onnx.checker.check_model(zm)
    onnx.save(zm, os.path.join(OUT, "rf_zipmap.onnx"))
    xs, bg = X[:4], X[100:116]
    meta["rf_classifier"] = {"rows": rows(xs), "background": rows(bg), "library": rf.predict_proba(xs).tolist(), "library_output": "predict_proba"}

    # gradient boosting regressor
    X = data(rng, 300, 5)
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.3 * X[:, 4]
    gbr = GradientBoostingRegressor(n_estimators=20, max_depth=3, learning_rate=0.1, random_state=0).fit(X, y)
    nodes = Nodes()
    for t, est in enumerate(gbr.estimators_[:, 0]):
        add_sklearn_tree(nodes, t, est, lambda v: [(0, float(0.1 * v[0][0]))])
    init = float(gbr.init_.constant_[0][0])
    node = helper.make_node("TreeEnsembleRegressor", ["x"], ["variable"], name="gbr", domain="ai.onnx.ml", n_targets=1, base_values=[init], post_transform="NONE", **nodes.attrs("target"))
    onnx.save(model_with(node, 5, [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])]), os.path.join(OUT, "gb_regressor.onnx"))
    xs, bg = X[:4], X[100:116]
    meta["gb_regressor"] = {"rows": rows(xs), "background": rows(bg), "library": gbr.predict(xs).reshape(-1, 1).tolist(), "library_output": "predict"}

    # gradient boosting classifier, binary
    X = data(rng, 300, 5)
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0.2).astype(int)
    gbc = GradientBoostingClassifier(n_estimators=15, max_depth=3, learning_rate=0.2, random_state=0).fit(X, y)
    nodes = Nodes()
    for t, est in enumerate(gbc.estimators_[:, 0]):
        add_sklearn_tree(nodes, t, est, lambda v: [(0, float(0.2 * v[0][0]))])
    prior = float(gbc.init_.class_prior_[1])
    node = helper.make_node("TreeEnsembleClassifier", ["x"], ["label", "probabilities"], name="gbc", domain="ai.onnx.ml",
                            classlabels_int64s=[0, 1], base_values=[math.log(prior / (1 - prior))], post_transform="LOGISTIC", **nodes.attrs("class"))
    onnx.save(model_with(node, 5, [helper.make_tensor_value_info("label", TensorProto.INT64, [None]), helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])]), os.path.join(OUT, "gb_binary.onnx"))
    xs, bg = X[:4], X[100:116]
    meta["gb_binary"] = {"rows": rows(xs), "background": rows(bg), "library": gbc.predict_proba(xs).tolist(), "library_output": "predict_proba",
                         "library_margin": gbc.decision_function(xs).reshape(-1, 1).tolist()}

    # xgboost, binary, missing values
    X = data(rng, 400, 6, missing=0.15)
    y = ((np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1], nan=1.0) * np.nan_to_num(X[:, 3])) > 0).astype(int)
    bst = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "base_score": 0.3, "seed": 0}, xgb.DMatrix(X, label=y, missing=np.nan), num_boost_round=12)
    nodes = Nodes()
    add_xgb_booster(nodes, bst)
    node = helper.make_node("TreeEnsembleClassifier", ["x"], ["label", "probabilities"], name="xgb_binary", domain="ai.onnx.ml",
                            classlabels_int64s=[0, 1], base_values=[math.log(0.3 / 0.7)], post_transform="LOGISTIC", **nodes.attrs("class"))
    onnx.save(model_with(node, 6, [helper.make_tensor_value_info("label", TensorProto.INT64, [None]), helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])]), os.path.join(OUT, "xgb_binary_nan.onnx"))
    xs, bg = X[:6], X[200:216]
    d = xgb.DMatrix(xs, missing=np.nan)
    p = bst.predict(d)
    meta["xgb_binary_nan"] = {"rows": rows(xs), "background": rows(bg), "library": np.stack([1 - p, p], 1).tolist(), "library_output": "predict",
                              "library_margin": bst.predict(d, output_margin=True).reshape(-1, 1).tolist()}

    # xgboost, multiclass
    X = data(rng, 300, 4)
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1] * X[:, 2], [-0.5, 0.5])
    bst = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "eta": 0.3, "seed": 0}, xgb.DMatrix(X, label=y), num_boost_round=6)
    nodes = Nodes()
    add_xgb_booster(nodes, bst, class_of_tree=lambda t: t % 3)
    node = helper.make_node("TreeEnsembleClassifier", ["x"], ["label", "probabilities"], name="xgb_multi", domain="ai.onnx.ml",
                            classlabels_int64s=[0, 1, 2], base_values=[0.5, 0.5, 0.5], post_transform="SOFTMAX", **nodes.attrs("class"))
    onnx.save(model_with(node, 4, [helper.make_tensor_value_info("label", TensorProto.INT64, [None]), helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3])]), os.path.join(OUT, "xgb_multiclass.onnx"))
    xs, bg = X[:4], X[100:116]
    d = xgb.DMatrix(xs)
    meta["xgb_multiclass"] = {"rows": rows(xs), "background": rows(bg), "library": bst.predict(d).tolist(), "library_output": "predict",
                              "library_margin": bst.predict(d, output_margin=True).tolist()}

    # xgboost regressor, missing values
    X = data(rng, 400, 5, missing=0.2)
    y = np.nan_to_num(X[:, 0]) * 2 + np.nan_to_num(X[:, 1], nan=-1) * np.nan_to_num(X[:, 2])
    bst = xgb.train({"objective": "reg:squarederror", "max_depth": 3, "eta": 0.3, "base_score": 0.7, "seed": 0}, xgb.DMatrix(X, label=y, missing=np.nan), num_boost_round=10)
    nodes = Nodes()
    add_xgb_booster(nodes, bst)
    node = helper.make_node("TreeEnsembleRegressor", ["x"], ["variable"], name="xgb_reg", domain="ai.onnx.ml", n_targets=1, base_values=[0.7], post_transform="NONE", **nodes.attrs("target"))
    onnx.save(model_with(node, 5, [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])]), os.path.join(OUT, "xgb_regressor_nan.onnx"))
    xs, bg = X[:6], X[200:216]
    meta["xgb_regressor_nan"] = {"rows": rows(xs), "background": rows(bg), "library": bst.predict(xgb.DMatrix(xs, missing=np.nan)).reshape(-1, 1).tolist(), "library_output": "predict"}

    with open(os.path.join(OUT, "trees.json"), "w") as f:
        json.dump({"sklearn": __import__("sklearn").__version__, "xgboost": xgb.__version__, "models": meta}, f, indent=1)
    print("wrote", ", ".join(meta))


if __name__ == "__main__":
    main()
