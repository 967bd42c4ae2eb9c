"""Exercise definitions, one module per lesson (lessonNN.py)."""
