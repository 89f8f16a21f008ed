"""A NumPy GPT-2 and sampler: the reference implementation the code cards are graded against.

`engine.layers` holds the transformer's building blocks, `engine.model` the GPT-2 decoder with
its checkpoint format and KV cache, `engine.sampling` the logits warpers and `generate`,
`engine.tokenizer` GPT-2's byte-level BPE.
Nothing here imports from `studycli`.
"""
