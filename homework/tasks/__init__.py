"""The homework itself: each task takes Settings and returns a frozen result dataclass."""
