"""Speed and memory benchmark of spacy-mtl against stock spaCy and the bare encoder.

Run ``make bench`` (which also sets the offline variables) or ``python -m bench.run``;
see bench/README.md for the method.
"""
