"""studycli: spaced-repetition exam prep for transformers, LLM sampling and AWS generative AI."""

__version__ = "0.1.0"
