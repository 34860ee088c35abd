"""Speed, memory and quality measurements, each a module run from the repository root:
``python -m benchmarks.NAME`` (its docstring gives the exact command; NAME.txt holds its last output)."""
