"""Tokenizers: GPT-2's byte-level BPE (load, encode, decode, train) and a char-level baseline.

Byte-level BPE in four steps, each a small function below:

1. Split the text into pre-tokens with GPT-2's regex, so merges never cross a word boundary
   ("the dog." and "the dog!" share the token " dog").
2. Turn each pre-token into its UTF-8 bytes: every byte is a token, so no text is ever unknown.
3. Merge adjacent tokens by rank: repeatedly join the pair that was learned earliest.
4. Look the resulting byte strings up in the vocabulary.

Inside, tokens are `bytes`. GPT-2's files (`vocab.json`, `merges.txt`) spell each byte as a
visible character (see `bytes_to_unicode`) only so they stay printable text; that spelling is
used when reading and writing the files and nowhere else.
"""

from __future__ import annotations

import functools
import heapq
import json
import math
import re
from collections import Counter
from pathlib import Path

END_OF_TEXT = "<|endoftext|>"  # GPT-2's only special token, last in its vocabulary (id 50256)

# GPT-2's pre-tokeniser: common English contractions, then runs of letters, of digits, of
# anything else, each optionally led by one space; whitespace before a word is left to that
# word's leading space, which is why `\s+(?!\S)` comes before the catch-all `\s+`.
GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)

MERGES_HEADER = "#version: 0.2"  # first line of GPT-2's merges.txt; readers skip it
_CACHE_LIMIT = 100_000  # pre-tokens remembered per tokenizer; text repeats words, so most hit


# ---------------------------------------------------------------------------------------------
# The file spelling of bytes


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte value to one printable character, in GPT-2's vocabulary order.

    Bytes that are already visible characters ('!'..'~', and Latin-1's '¡'..'¬', '®'..'ÿ')
    stand for themselves; the other 68 (controls, space, DEL, no-break space, soft hyphen)
    are moved to U+0100 and up, in byte order, so that `merges.txt` can separate a pair with a
    space and no token is ever invisible. The space byte becomes 'Ġ', newline 'Ċ'.
    """
    visible = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    hidden = [b for b in range(256) if b not in visible]
    table = {b: chr(b) for b in visible}
    table.update({b: chr(256 + n) for n, b in enumerate(hidden)})
    return table


_BYTE_TO_CHAR = bytes_to_unicode()
_CHAR_TO_BYTE = {c: b for b, c in _BYTE_TO_CHAR.items()}


def token_to_str(token: bytes) -> str:
    """The spelling of a byte token in `vocab.json` / `merges.txt` (b' the' -> 'Ġthe')."""
    return "".join(_BYTE_TO_CHAR[b] for b in token)


def str_to_token(text: str) -> bytes:
    """The bytes a `vocab.json` / `merges.txt` spelling stands for ('Ġthe' -> b' the')."""
    try:
        return bytes(_CHAR_TO_BYTE[c] for c in text)
    except KeyError as exc:
        raise ValueError(f"{text!r} is not a byte-level token (character {exc.args[0]!r})") from None


def readable(token: bytes) -> str:
    """A token as text a learner can read; bytes that are only part of a character show as \\xNN."""
    return token.decode("utf-8", errors="backslashreplace")


# ---------------------------------------------------------------------------------------------
# Encoding: pre-tokenise, then merge by rank


def split_special(text: str, special_tokens) -> list[str]:
    """`text` cut before and after every special token (kept as its own piece), empty pieces dropped.

    Special tokens are matched before anything else, as Hugging Face matches added tokens, so
    "<|endoftext|>" in the text becomes one id instead of the BPE of its eleven characters.
    """
    if not special_tokens:
        return [text] if text else []
    longest_first = sorted(special_tokens, key=len, reverse=True)  # so a prefix never wins
    pattern = "(" + "|".join(re.escape(s) for s in longest_first) + ")"
    return [piece for piece in re.split(pattern, text) if piece]


def pre_tokenize(text: str) -> list[str]:
    """`text` split into GPT-2's pre-tokens; joined together they give `text` back."""
    return _gpt2_splitter().findall(text)


@functools.cache
def _gpt2_splitter():
    """GPT-2's pattern, compiled once on first use.

    Python's `re` has no \\p{L} (letter) or \\p{N} (number) classes; the `regex` package does,
    and it is what Hugging Face's Python tokenizer uses. Imported here so that the char-level
    tokenizer works without it.
    """
    import regex

    return regex.compile(GPT2_SPLIT_PATTERN)


def merge_pair(parts: list[bytes], pair: tuple[bytes, bytes]) -> list[bytes]:
    """`parts` with every occurrence of `pair` joined, scanning left to right without overlap.

    Left to right matters for runs: merging ('a', 'a') in a, a, a gives aa, a (not a, aa).
    """
    first, second = pair
    merged, i = [], 0
    while i < len(parts):
        if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
            merged.append(first + second)
            i += 2
        else:
            merged.append(parts[i])
            i += 1
    return merged


def bpe(word: bytes, ranks: dict[tuple[bytes, bytes], int]) -> list[bytes]:
    """The tokens of one pre-token: start from its bytes, then keep merging the best-ranked pair.

    The pair learned earliest (lowest rank) is merged first, wherever it is in the word; the
    word is done when no adjacent pair is a known merge.
    """
    parts = [bytes([b]) for b in word]
    while len(parts) > 1:
        best = min(zip(parts, parts[1:]), key=lambda pair: ranks.get(pair, math.inf))
        if best not in ranks:
            break
        parts = merge_pair(parts, best)
    return parts


class BPETokenizer:
    """GPT-2's byte-level BPE: `encode(text) -> ids`, `decode(ids) -> text`, as Hugging Face does.

    `vocab` maps byte tokens to ids (all 256 single bytes must be there), `merges` is the list
    of pairs in the order they were learned (the rank of a merge is its index) and
    `special_tokens` maps strings such as "<|endoftext|>" to their ids.
    """

    def __init__(self, vocab: dict[bytes, int], merges: list[tuple[bytes, bytes]],
                 special_tokens: dict[str, int] | None = None):
        self.vocab = dict(vocab)
        self.merges = list(merges)
        self.special_tokens = dict(special_tokens or {})
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self.id_to_bytes = {i: t for t, i in self.vocab.items()}
        self.id_to_bytes.update({i: s.encode("utf-8") for s, i in self.special_tokens.items()})
        self._cache: dict[bytes, tuple[int, ...]] = {}
        _check_consistent(self.vocab, self.merges, self.special_tokens)

    # -- loading and saving (the only I/O in this module) --

    @classmethod
    def from_files(cls, vocab_path, merges_path, special_tokens=(END_OF_TEXT,)) -> BPETokenizer:
        """The tokenizer stored in a GPT-2 `vocab.json` and `merges.txt`.

        Entries of `vocab.json` named in `special_tokens` (when present) are special: matched
        whole in the text and never split by BPE; every other entry must be a byte-level token.
        """
        spelled = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
        merges_text = Path(merges_path).read_text(encoding="utf-8")
        specials = {s: spelled.pop(s) for s in special_tokens if s in spelled}
        vocab = {str_to_token(s): i for s, i in spelled.items()}
        return cls(vocab, parse_merges(merges_text), specials)

    @classmethod
    def from_dir(cls, directory, special_tokens=(END_OF_TEXT,)) -> BPETokenizer:
        """The tokenizer in `directory/vocab.json` + `directory/merges.txt` (a GPT-2 checkpoint folder)."""
        directory = Path(directory)
        return cls.from_files(directory / "vocab.json", directory / "merges.txt", special_tokens)

    def save(self, directory) -> None:
        """Write `vocab.json` and `merges.txt` into `directory`, readable by Hugging Face's GPT2Tokenizer."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        spelled = {token_to_str(t): i for t, i in self.vocab.items()}
        spelled.update(self.special_tokens)
        ordered = dict(sorted(spelled.items(), key=lambda item: item[1]))
        with open(directory / "vocab.json", "w", encoding="utf-8", newline="\n") as f:
            json.dump(ordered, f, ensure_ascii=False, indent=0)
        with open(directory / "merges.txt", "w", encoding="utf-8", newline="\n") as f:
            f.write(format_merges(self.merges))

    # -- encoding and decoding --

    @property
    def vocab_size(self) -> int:
        """How many ids there are: byte tokens, merged tokens and special tokens."""
        return len(self.id_to_bytes)

    def encode(self, text: str) -> list[int]:
        """The token ids of `text`, as Hugging Face's GPT-2 tokenizer gives them (no BOS/EOS added)."""
        ids: list[int] = []
        for piece in split_special(text, self.special_tokens):
            if piece in self.special_tokens:
                ids.append(self.special_tokens[piece])
                continue
            for word in pre_tokenize(piece):
                ids.extend(self._encode_word(word.encode("utf-8")))
        return ids

    def _encode_word(self, word: bytes) -> tuple[int, ...]:
        """The ids of one pre-token, remembered: text repeats words, and BPE is the slow part."""
        ids = self._cache.get(word)
        if ids is None:
            ids = tuple(self.vocab[t] for t in bpe(word, self.ranks))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[word] = ids
        return ids

    def decode(self, ids) -> str:
        """The text of `ids`; bytes that do not form valid UTF-8 become U+FFFD, as in Hugging Face.

        The bytes of all tokens are joined before decoding, because one character may be split
        across several tokens (an emoji is 4 bytes, often 2-3 tokens).
        """
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def decode_bytes(self, ids) -> bytes:
        """The raw bytes that `ids` stand for."""
        try:
            return b"".join(self.id_to_bytes[int(i)] for i in ids)
        except KeyError as exc:
            raise ValueError(f"token id {exc.args[0]} is not in the vocabulary "
                             f"(0..{self.vocab_size - 1})") from None

    def token_text(self, token_id: int) -> str:
        """One token as readable text (b' the' -> ' the'), for showing how text was cut."""
        return readable(self.decode_bytes([token_id]))


def _check_consistent(vocab, merges, special_tokens) -> None:
    """Raise ValueError unless every byte, every merge and its result have an id, and ids are unique.

    A merge whose result has no id would fail deep inside `encode`; better to say so on load.
    """
    missing = [b for b in range(256) if bytes([b]) not in vocab]
    if missing:
        raise ValueError(f"the vocabulary lacks {len(missing)} single-byte tokens, e.g. byte {missing[0]}")
    for rank, (first, second) in enumerate(merges):
        for token in (first, second, first + second):
            if token not in vocab:
                raise ValueError(f"merge {rank} ({token_to_str(first)} {token_to_str(second)}): "
                                 f"{token_to_str(token)!r} is not in the vocabulary")
    ids = [*vocab.values(), *special_tokens.values()]
    if len(set(ids)) != len(ids):
        raise ValueError("two tokens share an id")


def parse_merges(text: str) -> list[tuple[bytes, bytes]]:
    """The pairs listed in a `merges.txt`, in rank order (the `#version` line and blank lines skipped)."""
    merges = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line or line.startswith("#version"):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise ValueError(f"merges.txt line {number}: expected two tokens separated by a space, got {line!r}")
        merges.append((str_to_token(parts[0]), str_to_token(parts[1])))
    return merges


def format_merges(merges: list[tuple[bytes, bytes]]) -> str:
    """The text of a `merges.txt`: the version line, then one "first second" pair per line.

    It ends with a newline because Hugging Face's Python reader drops the last line unread.
    """
    lines = [MERGES_HEADER, *(f"{token_to_str(a)} {token_to_str(b)}" for a, b in merges)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Training: learn merges from text


def word_counts(text: str, special_tokens=(END_OF_TEXT,)) -> Counter:
    """How often each pre-token (as UTF-8 bytes) occurs in `text`; special tokens are left out.

    Training works on these counts instead of the text: 100 KB of English is about 20,000
    pre-tokens but only a few thousand distinct ones.
    """
    counts: Counter = Counter()
    for piece in split_special(text, special_tokens):
        if piece not in special_tokens:
            counts.update(word.encode("utf-8") for word in pre_tokenize(piece))
    return counts


def count_pairs(words: list[list[int]], counts: list[int]) -> tuple[Counter, dict]:
    """How often each adjacent pair of ids occurs (weighted by word count), and in which words."""
    pair_counts: Counter = Counter()
    where: dict[tuple[int, int], set[int]] = {}
    for index, (word, count) in enumerate(zip(words, counts)):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += count
            where.setdefault(pair, set()).add(index)
    return pair_counts, where


def merge_ids(word: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """`word` with every occurrence of `pair` replaced by `new_id`, left to right, as `merge_pair` does."""
    merged, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == pair[0] and word[i + 1] == pair[1]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


def train_bpe(text: str, vocab_size: int, special_tokens=(END_OF_TEXT,)
              ) -> tuple[BPETokenizer, list[tuple[bytes, bytes]]]:
    """A tokenizer with `vocab_size` ids learned from `text`, and its merges in the order learned.

    Start from the 256 single bytes (id = byte value), then repeatedly merge the adjacent pair
    that occurs most often inside pre-tokens; ties go to the pair whose bytes sort first, so the
    same text always gives the same merges. Special tokens take the last ids, as in GPT-2.
    Training stops early when no pair is left to merge.

    Only the words that contain the chosen pair are touched at each step, and the pair counts
    are updated from those words alone; a heap finds the most frequent pair.
    """
    target = vocab_size - len(special_tokens)
    if target < 256:
        raise ValueError(f"vocab_size must be at least {256 + len(special_tokens)} "
                         f"(256 bytes and {len(special_tokens)} special tokens), got {vocab_size}")
    counted = word_counts(text, special_tokens)
    words = [list(word) for word in counted]
    counts = list(counted.values())
    id_to_bytes = [bytes([b]) for b in range(256)]
    bytes_to_id = {t: i for i, t in enumerate(id_to_bytes)}
    pair_counts, where = count_pairs(words, counts)
    heap = [_heap_entry(pair, n, id_to_bytes) for pair, n in pair_counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[bytes, bytes]] = []
    while len(id_to_bytes) < target:
        pair = _pop_most_frequent(heap, pair_counts)
        if pair is None:
            break
        merged = id_to_bytes[pair[0]] + id_to_bytes[pair[1]]
        merges.append((id_to_bytes[pair[0]], id_to_bytes[pair[1]]))
        if merged not in bytes_to_id:  # rare: two different pairs can spell the same bytes
            bytes_to_id[merged] = len(id_to_bytes)
            id_to_bytes.append(merged)
        new_id = bytes_to_id[merged]
        changed: set[tuple[int, int]] = set()
        for index in where.pop(pair):
            old = words[index]
            new = merge_ids(old, pair, new_id)
            if len(new) == len(old):  # the pair left this word in an earlier merge
                continue
            _update_pair_counts(pair_counts, where, old, new, counts[index], index, changed)
            words[index] = new
        for p in changed:
            if pair_counts.get(p, 0) > 0:
                heapq.heappush(heap, _heap_entry(p, pair_counts[p], id_to_bytes))
    vocab = {t: i for i, t in enumerate(id_to_bytes)}
    specials = {s: len(id_to_bytes) + n for n, s in enumerate(special_tokens)}
    return BPETokenizer(vocab, merges, specials), merges


def _heap_entry(pair, count, id_to_bytes):
    """A heap item that sorts most frequent first, then by the pair's bytes (the tie-break)."""
    return (-count, id_to_bytes[pair[0]], id_to_bytes[pair[1]], pair)


def _pop_most_frequent(heap, pair_counts):
    """The pair with the highest current count, skipping heap items made stale by later updates."""
    while heap:
        negative_count, _, _, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) == -negative_count:
            return pair
    return None


def _update_pair_counts(pair_counts, where, old, new, count, index, changed) -> None:
    """Move one word's pair counts from its `old` tokens to its `new` tokens (the word occurs `count` times)."""
    for pair in zip(old, old[1:]):
        pair_counts[pair] -= count
        if pair_counts[pair] == 0:
            del pair_counts[pair]
        changed.add(pair)
    for pair in zip(new, new[1:]):
        pair_counts[pair] += count
        where.setdefault(pair, set()).add(index)
        changed.add(pair)


def describe_merges(merges: list[tuple[bytes, bytes]]) -> list[tuple[int, tuple[str, str], str]]:
    """Each merge as (rank, (first, second), merged) in readable text, to show what BPE learned.

    For example (0, ('t', 'h'), 'th'), (1, (' ', 'th'), ' th'), (2, (' th', 'e'), ' the').
    """
    return [(rank, (readable(a), readable(b)), readable(a + b)) for rank, (a, b) in enumerate(merges)]


# ---------------------------------------------------------------------------------------------
# A char-level tokenizer, the baseline BPE improves on


CHAR_VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))  # newline, then printable ASCII
UNKNOWN_CHAR = "\ufffd"  # what every other character becomes, shown as the replacement mark


class CharTokenizer:
    """One id per character: newline and printable ASCII (ids 0..95), anything else the unknown id 96.

    Simple and lossless for English prose and code, but a sequence is as long as the text,
    and accents, tabs or emoji all collapse into one unknown symbol.
    """

    def __init__(self):
        self.chars = CHAR_VOCAB + UNKNOWN_CHAR
        self.unknown_id = len(CHAR_VOCAB)
        self.char_to_id = {c: i for i, c in enumerate(CHAR_VOCAB)}

    @property
    def vocab_size(self) -> int:
        """How many ids there are: the known characters plus the unknown symbol."""
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """One id per character of `text`; characters outside the vocabulary get `unknown_id`."""
        return [self.char_to_id.get(c, self.unknown_id) for c in text]

    def decode(self, ids) -> str:
        """The text of `ids`; the unknown id comes back as U+FFFD."""
        chars = []
        for i in ids:
            if not 0 <= int(i) < self.vocab_size:
                raise ValueError(f"token id {int(i)} is not in the vocabulary (0..{self.vocab_size - 1})")
            chars.append(self.chars[int(i)])
        return "".join(chars)
