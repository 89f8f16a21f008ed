"""A NumPy GPT-2 and sampler: the reference implementation the code cards are graded against.

    layers               the transformer's building blocks: softmax, layer norm, attention, heads, MLP
    model                the GPT-2 decoder: config, Hugging Face parameter names, KV cache, checkpoints
    sampling             temperature, top-k, top-p, greedy and random choice, and `generate`
    tokenizer            GPT-2's byte-level BPE (load, encode, decode, train) and a char tokenizer
    backward             a forward and a backward function per layer: the loss and its gradients
    optim                AdamW, gradient clipping and the warm-up + cosine learning-rate schedule
    train                the training loop and `python -m engine.train` (the shipped model)
    corpus               training text: Shakespeare's plays and the study notes, cleaned
    finetune_modes       fine-tuning on new text three ways: head, last block + head, or all
    classification_head  a linear head on a frozen model's features (the code card's answer key)

Nothing here imports from `studycli`.
"""
