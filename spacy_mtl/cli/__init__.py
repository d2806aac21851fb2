"""Command-line tools: `python -m spacy_mtl {train,evaluate,plot,...}`."""
