#!/usr/bin/env python3
"""Independent reference for Veil's head fitting (Sources/VeilFitting): writes the goldens
VeilFittingTests compares with, computed by scikit-learn and numpy, sharing no code with Veil.

    pip install scikit-learn==1.9.1 numpy
    python3 Tools/reference/heads_reference.py

Writes Tests/VeilFittingTests/Fixtures/logistic_goldens.json:
  - datasets: X (rows), labels, and for each C scikit-learn's LogisticRegression
    (class_weight="balanced", lbfgs run to tol 1e-12) on StandardScaler'd X: coefficients,
    intercept and probabilities; one set has more features than rows, as embeddings do;
  - platt: decision values, labels, and sklearn.calibration._sigmoid_calibration's (a, b)
    (scikit-learn's sign: P = 1 / (1 + exp(a f + b)));
  - metrics: score vectors with ties, roc_auc_score and average_precision_score.
"""
import json, os
import numpy as np
import sklearn
from sklearn.calibration import _sigmoid_calibration
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "VeilFittingTests", "Fixtures", "logistic_goldens.json")


def dataset(name, n, d, positives, seed, cs):
    r = np.random.RandomState(seed)
    y = np.array([1] * positives + [0] * (n - positives))
    r.shuffle(y)
    # Features: a few informative columns shifted by class, the rest noise, on uneven scales
    # (so standardisation matters), rounded to 4 decimals so JSON holds them exactly.
    X = r.normal(size=(n, d)) * (1 + np.arange(d) % 5) + r.normal(size=d) * 3
    X[:, : min(3, d)] += (y[:, None] * 1.2)
    X = np.round(X, 4)
    Z = StandardScaler().fit_transform(X)
    fits = []
    for c in cs:
        m = LogisticRegression(C=c, class_weight="balanced", solver="lbfgs", tol=1e-12, max_iter=100000).fit(Z, y)
        fits.append({"c": c, "coefficients": m.coef_[0].tolist(), "intercept": float(m.intercept_[0]),
                     "probabilities": m.predict_proba(Z)[:, 1].tolist()})
    return {"name": name, "rows": X.tolist(), "labels": y.tolist(), "fits": fits}


def main():
    r = np.random.RandomState(11)
    f = np.round(r.normal(size=60) * 2, 3)
    y = (r.uniform(size=60) < 1 / (1 + np.exp(-1.5 * f))).astype(int)
    a, b = _sigmoid_calibration(f, y)
    scores = np.round(r.uniform(size=50), 1)  # rounded: many ties
    labels = (r.uniform(size=50) < scores).astype(int)
    goldens = {
        "generator": "Tools/reference/heads_reference.py",
        "reference": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}",
        "datasets": [
            dataset("small", 90, 12, 30, 7, [0.01, 1.0]),
            dataset("wide", 40, 64, 20, 8, [0.1, 10.0]),
        ],
        "platt": {"decisions": f.tolist(), "labels": y.tolist(), "a": float(a), "b": float(b)},
        "metrics": {"scores": scores.tolist(), "labels": labels.tolist(),
                    "rocAUC": float(roc_auc_score(labels, scores)),
                    "averagePrecision": float(average_precision_score(labels, scores))},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump(goldens, fh, indent=1)
        fh.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
