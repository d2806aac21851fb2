"""Speed and memory benchmark of spacy-mtl against stock spaCy and the bare encoder.

Run ``python -m bench.run`` (or ``make bench``); see bench/README.md for the method.
"""
import os

# The encoder is an installed package, never a download: fail fast instead of
# waiting on the hub. Set here because every entry point (run, memory, profile)
# imports this package before it imports transformers.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
