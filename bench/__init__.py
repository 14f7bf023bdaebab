"""zhifu benchmarks: ``make bench`` (``python -m bench``) prints ratio tables against baselines."""
