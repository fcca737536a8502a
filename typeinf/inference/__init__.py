"""Inference: from slices to predictions.

The project index (`project.py`, `members.py`), static facts (`static.py`), features and their
encoding (`features.py`, `encoding.py`), the model bundle and its calibration (`bundle.py`,
`confidence.py`), the scorer and its caches (`scorer.py`, `cache.py`), finalisation
(`finalize.py`) and the `Predictor` facade over them (`predict.py`).
"""
