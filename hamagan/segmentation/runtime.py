"""A TensorFlow Lite model on the light ``ai-edge-litert`` runtime, safe to call from several threads."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np


class LiteModel:
    """One interpreter for a model with a single NHWC input (float32, or int32 pixels); calls are serialised by a
    lock."""

    def __init__(self, path: Path, num_threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._outputs = [detail["index"] for detail in self._interpreter.get_output_details()]
        self._lock = threading.Lock()

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model's input."""
        height, width = self._input["shape"][1:3]
        return int(height), int(width)

    def __call__(self, pixels: np.ndarray) -> list[np.ndarray]:
        """The model's outputs (first batch item of each, copied) for one HxWx3 input, cast to the input's type."""
        with self._lock:
            self._interpreter.set_tensor(self._input["index"],
                                         np.ascontiguousarray(pixels, self._input["dtype"])[None])
            self._interpreter.invoke()
            return [self._interpreter.get_tensor(index)[0].copy() for index in self._outputs]
