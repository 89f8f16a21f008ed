"""The registry of code checks: what the learner writes, and what the starter file tells them.

A check is named after the function the learner writes (`check: softmax` grades
`def softmax(x, axis=-1)`). This module holds only text and numbers, so `study lint` and
`study --help` can list the checks without importing NumPy; the cases, the engine's reference,
the comparator and the known mistakes of each check are in `suites.py`, loaded when grading.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from studycli.errors import UsageError


class UnknownCheck(UsageError, KeyError):
    """A card or a command named a check that does not exist."""

    def __init__(self, name: str):
        self.name = name
        close = _close_names(name)
        also = f"; did you mean {', '.join(close)}?" if close else f"; known checks: {', '.join(CHECKS)}"
        super().__init__(f"unknown check {name!r}{also}")

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class Check:
    """One code check: the learner's function, its contract, and how the starter file explains it."""

    name: str  # the function the learner writes
    signature: str  # its parameters, as in `def name(...)`
    summary: str  # the docstring's first line: what the function gives back
    doc: str  # the rest of the docstring: arguments, shapes, return value
    example: str  # a worked example in doctest form, checked against the engine by the tests
    n_outputs: int = 1  # how many arrays the function returns (a tuple when more than one)
    # The numeric side (cases, reference, comparator, mistakes) is suites.SUITES[name]: suites
    # imports this module, never the other way round.


def _check(name, signature, summary, doc, example, n_outputs=1) -> Check:
    return Check(name, signature, summary, textwrap.dedent(doc).strip(), textwrap.dedent(example).strip(), n_outputs)


_ALL = [
    _check(
        "softmax",
        "x, axis=-1",
        "Probabilities along `axis`: exp(x) normalised so that every slice sums to 1.",
        """
        x: an array of logits (scores) of any shape, float32.
        axis: the axis to normalise along; the other axes are batch axes.
        Returns an array of x's shape, with values in [0, 1] summing to 1 along `axis`.
        It must stay finite for logits as large as 1e4 (np.exp(1000) overflows to inf),
        and entries of -inf (masked positions) must come out as exactly 0.
        """,
        """
        >>> softmax(np.array([0.0, np.log(3.0)]))      # e^0 : e^log 3 = 1 : 3
        array([0.25, 0.75])
        >>> softmax(np.array([[1000.0, 1000.0], [0.0, -np.inf]]))
        array([[0.5, 0.5],
               [1. , 0. ]])
        """,
    ),
    _check(
        "scaled_dot_product_attention",
        "q, k, v, mask=None",
        "Attention output softmax(q kᵀ / sqrt(d_k)) v, with masked scores hidden before the softmax.",
        """
        q: [..., n_q, d_k] queries; k: [..., n_k, d_k] keys; v: [..., n_k, d_v] values.
        Leading axes (batch, heads) are kept as they are.
        mask: None, or a boolean array that broadcasts to [..., n_q, n_k], True where query i
        may attend to key j; set the other scores to -inf *before* the softmax.
        Returns [..., n_q, d_v]. Keep float32 inputs float32 (math.sqrt for the scale).
        """,
        """
        >>> q = np.array([[1.0, 0.0]])                 # one query, d_k = 2
        >>> k = np.array([[1.0, 0.0], [0.0, 1.0]])     # scores: [1, 0] / sqrt(2)
        >>> v = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> scaled_dot_product_attention(q, k, v)      # softmax([0.7071, 0])
        array([[0.66976155, 0.33023845]])
        >>> scaled_dot_product_attention(q, k, v, mask=np.array([[False, True]]))
        array([[0., 1.]])
        """,
    ),
    _check(
        "causal_mask",
        "n",
        "Boolean (n, n) mask, True where query position i may attend to key position j (j <= i).",
        """
        n: the sequence length (n >= 1).
        Returns a bool array of shape (n, n): the diagonal and everything below it True,
        every future position (j > i) False.
        """,
        """
        >>> causal_mask(3)
        array([[ True, False, False],
               [ True,  True, False],
               [ True,  True,  True]])
        """,
    ),
    _check(
        "split_heads",
        "x, n_head",
        "x cut into n_head heads: [..., T, C] -> [..., n_head, T, C // n_head].",
        """
        x: [..., T, C], T tokens of width C; n_head divides C. Head h holds columns
        h*D .. (h+1)*D - 1 of every token (D = C // n_head). Leading batch axes stay in front.
        """,
        """
        >>> x = np.arange(8).reshape(2, 4)             # 2 tokens, C = 4
        >>> split_heads(x, 2).shape
        (2, 2, 2)
        >>> split_heads(x, 2)[1]                       # head 1: columns 2 and 3 of each token
        array([[2, 3],
               [6, 7]])
        """,
    ),
    _check(
        "merge_heads",
        "x",
        "The heads put back side by side: [..., n_head, T, D] -> [..., T, n_head * D].",
        """
        x: [..., n_head, T, D]. In each token's output vector, head 0's D values come first,
        then head 1's, and so on. The inverse of split_heads: merge_heads(split_heads(x, h)) == x.
        """,
        """
        >>> heads = np.arange(8).reshape(2, 2, 2)      # head 0: [[0, 1], [2, 3]], head 1: [[4, 5], [6, 7]]
        >>> merge_heads(heads)
        array([[0, 1, 4, 5],
               [2, 3, 6, 7]])
        """,
    ),
    _check(
        "multi_head_attention",
        "x, w_qkv, b_qkv, w_out, b_out, n_head",
        "Causal multi-head self-attention of a GPT-2 block: [..., T, C] -> [..., T, C].",
        """
        x: [..., T, C]. Weights in GPT-2's layout, applied as x @ w + b:
        w_qkv: [C, 3C] and b_qkv: [3C], whose columns are the query, key and value
        projections in that order; w_out: [C, C] and b_out: [C]: the output projection.
        Project to q, k, v; split each into n_head heads; attend with a causal mask in every
        head (scale by sqrt of the head width); merge the heads; apply the output projection.
        The grader also plugs this function into a small GPT-2 and compares its logits.
        """,
        """
        >>> x = np.array([[1.0, 0.0], [0.0, 1.0]])     # 2 tokens, C = 2
        >>> w_qkv = np.hstack([np.eye(2)] * 3)         # q = k = v = x
        >>> multi_head_attention(x, w_qkv, np.zeros(6), np.eye(2), np.zeros(2), n_head=1)
        array([[1.        , 0.        ],
               [0.33023845, 0.66976155]])
        >>> # token 0 sees only itself; token 1 weighs token 0 and itself by softmax([0, 1] / sqrt(2))
        """,
    ),
    _check(
        "sinusoidal_positions",
        "n_positions, d_model",
        'Fixed positional encodings of "Attention Is All You Need": float32 [n_positions, d_model].',
        """
        Even columns: PE[pos, 2i] = sin(pos / 10000^(2i / d_model));
        odd columns: PE[pos, 2i+1] = cos(pos / 10000^(2i / d_model)). Positions count from 0.
        An odd d_model works too: the last column is then a sine with no cosine partner.
        """,
        """
        >>> np.round(sinusoidal_positions(2, 4), 4)    # row 1: sin(1), cos(1), sin(1/100), cos(1/100)
        array([[0.    , 1.    , 0.    , 1.    ],
               [0.8415, 0.5403, 0.01  , 1.    ]], dtype=float32)
        """,
    ),
    _check(
        "layer_norm",
        "x, gamma, beta, eps=1e-5",
        "x normalised to mean 0 and variance 1 over the last axis, then scaled by gamma and shifted by beta.",
        """
        x: [..., d], float32 (any number of leading axes); gamma, beta: [d].
        (x - mean) / sqrt(var + eps) * gamma + beta, with the mean and the *biased* variance
        (divide by d, not d - 1) of each vector along the last axis. Returns x's shape.
        """,
        """
        >>> layer_norm(np.array([1.0, 2.0, 3.0]), np.ones(3), np.zeros(3), eps=0.0)   # var = 2/3
        array([-1.22474487,  0.        ,  1.22474487])
        >>> layer_norm(np.array([1.0, 2.0, 3.0]), np.full(3, 2.0), np.ones(3), eps=0.0)
        array([-1.44948974,  1.        ,  3.44948974])
        """,
    ),
    _check(
        "gelu",
        "x",
        "GELU in GPT-2's tanh form: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), element-wise.",
        """
        x: float32 array of any shape; returns the same shape, float32.
        Not the exact erf form: GPT-2 was trained with this tanh approximation.
        """,
        """
        >>> gelu(np.array([-1.0, 0.0, 1.0]))
        array([-0.15880801,  0.        ,  0.84119199])
        """,
    ),
    _check(
        "feed_forward",
        "x, w1, b1, w2, b2",
        "The position-wise MLP of a decoder block: gelu(x @ w1 + b1) @ w2 + b2.",
        """
        x: [..., d_model]; w1: [d_model, d_ff]; b1: [d_ff]; w2: [d_ff, d_model]; b2: [d_model]
        (GPT-2's layout: weights are (in, out), applied as x @ W + b; d_ff = 4 d_model in GPT-2).
        Use GPT-2's tanh GELU (write it in this file). Returns [..., d_model], float32.
        """,
        """
        >>> x = np.array([[1.0, -1.0]])
        >>> feed_forward(x, np.eye(2), np.zeros(2), np.eye(2), np.array([0.5, 0.5]))   # gelu(x) + 0.5
        array([[1.34119199, 0.34119199]])
        """,
    ),
    _check(
        "embed",
        "ids, wte, wpe",
        "Token embeddings plus position embeddings: [..., T] ids -> [..., T, d_model].",
        """
        ids: integer token ids, shape [T] or [B, T].
        wte: [vocab_size, d_model] token embeddings; wpe: [n_positions, d_model] position
        embeddings. Position t (counting from 0) uses row t of wpe. Returns float32.
        """,
        """
        >>> wte = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])   # 3 tokens, d_model = 2
        >>> wpe = np.array([[0.0, 10.0], [0.0, 20.0], [0.0, 30.0]])
        >>> embed(np.array([2, 1]), wte, wpe)           # token 2 at position 0, token 1 at position 1
        array([[ 2., 12.],
               [ 1., 21.]])
        """,
    ),
    _check(
        "logits_from_hidden",
        "h, wte",
        "Next-token logits from hidden states through the (tied) token embedding: [..., d_model] -> [..., vocab_size].",
        """
        h: the final hidden vectors (after the last layer norm), [..., T, d_model] (or [d_model]).
        wte: the token embedding matrix [vocab_size, d_model], reused as the output layer.
        Returns the raw logits (no softmax): the dot product of each vector with every token's
        embedding.
        """,
        """
        >>> wte = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])   # vocab of 3, d_model = 2
        >>> logits_from_hidden(np.array([[2.0, 3.0]]), wte)
        array([[2., 3., 5.]])
        """,
    ),
    _check(
        "apply_temperature",
        "logits, temperature",
        "The logits divided by the temperature (below 1 sharpens the distribution, above 1 flattens it).",
        """
        logits: float32 [..., vocab_size]; temperature: a positive float.
        Returns the scaled logits (not probabilities), same shape, float32.
        """,
        """
        >>> apply_temperature(np.array([2.0, 1.0, -1.0]), 0.5)
        array([ 4.,  2., -2.])
        """,
    ),
    _check(
        "top_k_filter",
        "logits, k",
        "The logits with all but the k largest set to -inf, along the last axis.",
        """
        logits: float32 [..., vocab_size]; k: a whole number >= 0.
        Keep the k largest logits unchanged and set every other entry to -inf. A logit equal to
        the k-th largest is kept too (ties at the boundary survive, as in Hugging Face);
        k >= vocab_size keeps everything and k = 0 switches the filter off.
        Returns the same shape and dtype.
        """,
        """
        >>> top_k_filter(np.array([1.0, 3.0, 2.0, 0.5]), 2)
        array([-inf,   3.,   2., -inf])
        >>> top_k_filter(np.array([1.0, 2.0, 2.0, 3.0]), 2)   # a tie with the 2nd largest: kept
        array([-inf,   2.,   2.,   3.])
        """,
    ),
    _check(
        "top_p_filter",
        "logits, p",
        "The logits outside the nucleus set to -inf: the smallest set of most likely tokens whose probability reaches p.",
        """
        logits: float32 [..., vocab_size]; p in (0, 1]; work along the last axis.
        Softmax the logits, order the tokens from most to least probable, and keep the smallest
        set whose cumulative probability reaches p: the token that crosses p is kept, and at
        least one token always survives. Kept logits are unchanged, the others become -inf.
        """,
        """
        >>> logits = np.log(np.array([0.5, 0.2, 0.3]))   # probabilities 0.5, 0.2, 0.3
        >>> top_p_filter(logits, 0.6)                    # 0.5 < 0.6, 0.5 + 0.3 >= 0.6: two tokens
        array([-0.69314718,        -inf, -1.2039728 ])
        """,
    ),
    _check(
        "greedy_next",
        "logits",
        "The index of the largest logit along the last axis: the greedy choice of the next token.",
        """
        logits: [vocab_size], or with leading batch axes [..., vocab_size].
        Returns an integer (or an integer array of shape [...] for batched logits).
        On a tie, take the lowest index.
        """,
        """
        >>> print(greedy_next(np.array([0.1, 2.5, -1.0, 2.5])))   # a tie: the lowest index
        1
        >>> greedy_next(np.array([[0.0, 1.0], [3.0, 2.0]]))
        array([1, 0])
        """,
    ),
    _check(
        "train_classification_head",
        "features, labels, n_classes, steps=500, lr=0.5",
        "A linear classification head (W, b) trained on frozen features by gradient descent.",
        """
        features: float32 [n, d], the frozen model's final hidden vector for each example
        (the model itself is never trained: only the head on top of it).
        labels: integers [n] in 0 .. n_classes - 1.
        Train W: [d, n_classes] and b: [n_classes] so that softmax(features @ W + b) predicts
        the labels (mean cross-entropy loss, plain gradient descent from zeros).
        Returns the tuple (W, b). The grader classifies held-out examples your function never
        sees with argmax(features @ W + b) and requires at least 85% accuracy.
        """,
        """
        >>> features = np.array([[2.0, 0.0], [0.0, 2.0], [1.5, 0.5], [0.5, 1.5]])
        >>> labels = np.array([0, 1, 0, 1])
        >>> W, b = train_classification_head(features, labels, n_classes=2)
        >>> W.shape, b.shape
        ((2, 2), (2,))
        >>> np.argmax(features @ W + b, axis=-1)
        array([0, 1, 0, 1])
        """,
        n_outputs=2,
    ),
]

CHECKS: dict[str, Check] = {c.name: c for c in _ALL}

HEAD_ACCURACY = 0.85  # what train_classification_head must reach on held-out data (stated above)


def check_names() -> list[str]:
    """The names of every check, in the order of docs/cards.md."""
    return list(CHECKS)


def get_check(name: str) -> Check:
    """The check called `name`; UnknownCheck (a UsageError and a KeyError) if there is none."""
    try:
        return CHECKS[name]
    except (KeyError, TypeError):
        raise UnknownCheck(str(name)) from None


def _close_names(name: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(str(name), list(CHECKS), n=3, cutoff=0.6)


def starter_file(check_name: str) -> str:
    """The text of the file `study stub` writes: signature, docstring, worked example, and a stub body."""
    check = get_check(check_name)
    doc = "\n".join([check.summary, "", check.doc, "", "Example:", "", check.example])
    body = textwrap.indent(f'"""{doc}\n"""\nraise NotImplementedError("write {check.name} here")\n', "    ")
    return (
        f'"""Your answer to the `{check.name}` check.\n\n'
        "Write the function below, then grade it with `study check CARD-ID <this file>`.\n"
        "Your code runs in a separate process with NumPy; add any helper functions you need\n"
        "in this file. The worked example in the docstring is what a correct answer gives.\n"
        '"""\n\n'
        "import math\n\n"
        "import numpy as np\n\n\n"
        f"def {check.name}({check.signature}):\n"
        f"{body}"
    )
