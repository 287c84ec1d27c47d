from setuptools import find_packages, setup

# Pinned to what was measured to install and work together (Python 3.11).
CORE = [
    "keras==3.15.*",
    "keras-tuner==1.4.8",
    "tensorboard==2.21.*",  # KerasTuner imports it in every trial with the TF backend
    "scikit-learn>=1.5,<2",  # KerasTuner's Gaussian-process oracle
    "scipy>=1.13,<2",
    "numpy>=1.26,<3",
    "pandas>=2.2,<4",
    "matplotlib>=3.9,<4",
    "networkx>=3.3,<4",
    "psutil>=5.9,<8",
]
CPU = ["tensorflow-cpu==2.21.*"]

setup(
    name="kerasnas",
    version="0.1.0",
    description="Neural architecture search for Keras 3 on KerasTuner: cell, NAS-Bench-201 "
                "and ResNet spaces; aging evolution, Gaussian-process and TPE oracles.",
    packages=find_packages(include=["kerasnas", "kerasnas.*"]),
    python_requires=">=3.10,<3.13",
    install_requires=CORE,
    extras_require={
        "cpu": CPU,
        "gpu": ["tensorflow[and-cuda]==2.21.*"],
        "tpe": ["optuna>=4,<6"],
        # --backend jax / torch: each backend's CPU build (tf.data still feeds the data).
        "jax": ["jax[cpu]==0.10.*"],
        "torch": ["torch==2.13.0"],  # exactly this: other specs pull GBs of CUDA wheels
        # --dataset tfds:NAME (tfds also needs importlib_resources, not declared by it)
        "tfds": ["tensorflow-datasets==4.9.*", "importlib_resources>=6,<8"],
        "compare": ["autokeras==3.0.0", "nni==3.0", "torch==2.13.0", "pytorch-lightning>=2.4,<3"],
        # --engine ray: trials as Ray Tune trials (kerasnas.ray)
        "ray": ["ray[tune]==2.60.*"],
        "test": ["pytest>=8,<10", "pytest-xdist>=3,<4", "optuna>=4,<6", "ruff==0.17.6", "mypy==1.20.*"],
    },
)
