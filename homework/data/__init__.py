"""Data for the homework: MNIST and class-per-folder image trees, real or embedded."""
