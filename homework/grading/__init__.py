"""The written part: the rubric, reading submissions, grading, Gradescope output."""
