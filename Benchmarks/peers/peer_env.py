"""The peers' shared venv: Benchmarks/peers/.venv, with the packages the comparisons need."""
import os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
PY = os.path.join(VENV, "bin", "python")
PACKAGES = ["onnx", "onnxruntime", "numpy", "pillow", "nudenet==3.4.2"]


def create():
    """Creates the venv with the packages, once."""
    if not os.path.exists(PY):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([PY, "-m", "pip", "install", "-q"] + PACKAGES, check=True)


def ensure_packages():
    """Re-runs the calling script inside the venv unless the packages are already importable."""
    try:
        import onnx, onnxruntime, numpy, PIL, nudenet  # noqa: F401
    except ImportError:
        if os.path.abspath(sys.executable) == os.path.abspath(PY):
            raise
        create()
        os.execv(PY, [PY] + sys.argv)
