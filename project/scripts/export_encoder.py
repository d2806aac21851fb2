"""Save a trained pipeline's shared encoder as a Hugging Face model directory.

    python scripts/export_encoder.py PIPELINE OUTPUT_DIR [--component transformer]

A student's config names OUTPUT_DIR as its encoder (`name`) and keeps some of its
layers (`layers`), so that it starts from the teacher's fine-tuned layers, as
DistilBERT starts from its teacher's.
"""

import argparse
import sys
from pathlib import Path

import spacy
from wasabi import msg


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--component", default="transformer")
    args = parser.parse_args(argv)
    nlp = spacy.load(args.pipeline)
    model = nlp.get_pipe(args.component).model
    if model.attrs.get("quantize"):
        msg.fail(
            f"{args.pipeline}: its encoder is {model.attrs['quantize']}; export the fp32 pipeline",
            exits=1,
        )
    model.transformer.save_pretrained(args.output_dir)
    model.tokenizer.save_pretrained(args.output_dir)
    msg.good(
        f"Saved the encoder of {args.pipeline} ({model.transformer.config.num_hidden_layers} layers) to {args.output_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
