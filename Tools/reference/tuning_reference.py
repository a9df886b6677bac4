#!/usr/bin/env python3
"""Writes Tests/VeilPolicyTests/Fixtures/tuning.json: a generated labelled data set and the
metrics scikit-learn computes for it, as goldens for Veil's threshold tuning.

    pip install scikit-learn numpy && python3 Tools/reference/tuning_reference.py
"""
import json, os
import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "VeilPolicyTests", "Fixtures", "tuning.json")
rng = np.random.default_rng(20261129)
n = 600
labels = (rng.random(n) < 0.15).astype(int)
# Positives score higher on average; rounding to 2 decimals creates ties, as real scores have.
scores = np.where(labels == 1, rng.beta(5, 2, n), rng.beta(2, 5, n)).round(2)

precision, recall, thresholds = precision_recall_curve(labels, scores)
targets = {}
for target in (0.9, 0.95, 0.99):
    ok = [(t, p, r) for p, r, t in zip(precision[:-1], recall[:-1], thresholds) if r >= target]
    t, p, r = max(ok, key=lambda x: x[0])
    flagged = scores >= t
    targets[str(target)] = {"threshold": float(t), "precision": float(p), "recall": float(r),
                            "reviewRate": float(flagged.mean())}
table = []
for t in np.arange(0, 1.0001, 0.05):
    flagged = scores >= t - 1e-12
    tp = int((flagged & (labels == 1)).sum()); fp = int((flagged & (labels == 0)).sum())
    table.append({"threshold": round(float(t), 3), "recall": tp / labels.sum(),
                  "precision": tp / flagged.sum() if flagged.sum() else 1.0,
                  "falsePositiveRate": fp / (labels == 0).sum(), "reviewRate": float(flagged.mean())})
# Calibration goldens: Platt as an unregularised 1-D logistic regression, and isotonic regression.
from sklearn.linear_model import LogisticRegression
from sklearn.isotonic import IsotonicRegression
lr = LogisticRegression(penalty=None, tol=1e-12, max_iter=10000).fit(scores.reshape(-1, 1), labels)
iso = IsotonicRegression(out_of_bounds="clip").fit(scores, labels)
probe = [0.0, 0.1, 0.25, 0.33, 0.5, 0.62, 0.75, 0.9, 1.0]
fixture = {
    "platt": {"a": float(-lr.coef_[0][0]), "b": float(-lr.intercept_[0])},
    "isotonicAt": {"x": probe, "y": [float(v) for v in iso.predict(probe)]},
    "generator": "Tools/reference/tuning_reference.py, scikit-learn %s" % sklearn.__version__,
    "scores": [float(s) for s in scores], "labels": [int(l) for l in labels],
    "rocAUC": float(roc_auc_score(labels, scores)), "prAUC": float(average_precision_score(labels, scores)),
    "targets": targets, "table": table,
}
with open(OUT, "w") as f:
    json.dump(fixture, f)
    f.write("\n")
print("rocAUC", fixture["rocAUC"], "prAUC", fixture["prAUC"], targets)
