"""hw5: runs, measures, grades and reports Homework 5 (TF2 and TF1)."""

__version__ = "0.1.0"
