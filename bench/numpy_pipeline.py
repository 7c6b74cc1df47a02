#!/usr/bin/python3
"""The ordinary Python pipeline ffnscope analyze is compared with: load the
activations, np.cov in float64, np.linalg.eigvalsh, and the metrics of
tools/np_metrics.py from those eigenvalues. Prints the soft and hard rank so
the two pipelines can be checked against each other.

usage: numpy_pipeline.py FILE.npy
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from np_metrics import metrics_from_eigenvalues  # noqa: E402

X = np.load(sys.argv[1])
C = np.cov(X, rowvar=False)
eig = np.linalg.eigvalsh(C)
m = metrics_from_eigenvalues(eig, X.shape[0])
print(json.dumps({"hard_rank": m["hard_rank"], "soft_rank": m["soft_rank"]}))
