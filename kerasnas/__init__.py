"""kerasnas: neural architecture search for Keras 3, on KerasTuner."""

__version__ = "0.1.0"
