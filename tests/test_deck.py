"""The built-in deck covers the study notes, in the forms the exam asks."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from studycli import content, paths

TOPICS = {
    "transformer-architecture", "self-attention", "masked-self-attention", "multi-head-attention",
    "gpt-architecture", "llm-processing", "llm-parameters", "fine-tuning", "amazon-bedrock",
    "sagemaker-jumpstart", "foundation-models",
}
# Terms of the study notes, written out by hand: each must be asked somewhere in the deck.
KEY_TERMS = [
    "Attention is All You Need", "2017", "RNN", "LSTM", "parallel", "long-range", "contextual embedding",
    "novel", "query", "key", "value", "softmax", "d_k", "masked self-attention", "autoregressive",
    "masked language model", "multi-head", "head", "decoder-only", "encoder-only", "encoder-decoder",
    "BERT", "GPT", "T5", "BART", "Claude", "tokenization", "token embedding", "positional encoding",
    "logits", "temperature", "top-p", "top-k", "context window", "max tokens", "full fine-tuning",
    "freeze", "tokenizer", "prompt-completion", "classification head", "sentiment", "Bedrock",
    "Anthropic", "Jurassic-2", "AI21", "Stable Diffusion", "Stability", "Llama", "Meta", "Titan",
    "embeddings", "semantic search", "personalization", "question answering", "summarization",
    "JumpStart", "SageMaker Studio", "notebook", "Falcon", "Flan", "BloomZ", "GPT-J", "Alexa",
    "foundation model", "GPT-4", "OpenAI", "DALL-E", "diffusion", "NER", "translation",
    "backpropagation", "weighted", "unlabeled", "next token", "feed-forward", "multilingual",
    "image generation", "full control", "API",
]
COUNT_WORDS = {2: "TWO", 3: "THREE", 4: "FOUR"}


@pytest.fixture(scope="module")
def decks():
    return content.load_decks([paths.content_dir()])


@pytest.fixture(scope="module")
def cards(decks):
    return [card for deck in decks for card in deck.cards]


# The AIF-C01 exam guide: a deck for each task statement group (1.1-5.2).
EXAM_GUIDE_TOPICS = {
    "ai-ml-fundamentals", "aws-ai-services", "ml-lifecycle",                 # 1.1, 1.2, 1.3
    "genai-concepts", "genai-on-aws",                                        # 2.1-2.2, 2.3
    "rag-and-agents", "prompt-engineering", "model-customization", "model-evaluation",   # 3.1-3.4
    "responsible-ai", "ai-transparency",                                     # 4.1, 4.2
    "ai-security", "ai-governance",                                          # 5.1, 5.2
}
EXAM_STYLE = ("mcq", "ordering", "matching")
DOMAIN_WEIGHTS = {1: 0.20, 2: 0.24, 3: 0.28, 4: 0.14, 5: 0.14}
MIN_CARDS, MIN_EXAM_STYLE = 500, 300


def test_every_topic_of_the_notes_and_of_the_exam_guide_has_a_deck(decks):
    assert TOPICS | EXAM_GUIDE_TOPICS <= {d.topic for d in decks}


def test_size_and_types(cards):
    types = Counter(card.type for card in cards)
    assert len(cards) >= MIN_CARDS
    assert types["numeric"] >= 8
    assert types["code"] >= 16


def test_exam_style_items_cover_every_domain_by_its_weight(cards):
    exam_style = [c for c in cards if c.type in EXAM_STYLE]
    by_domain = Counter(c.domain for c in exam_style)
    assert len(exam_style) >= MIN_EXAM_STYLE
    for domain, weight in DOMAIN_WEIGHTS.items():    # at least the domain's share of the 300 items asked for
        assert by_domain[domain] >= weight * MIN_EXAM_STYLE, (domain, by_domain[domain])
    assert sum(by_domain.values()) == len(exam_style)   # no exam-style item without a domain


def test_every_card_names_its_source(cards):
    assert [c.id for c in cards if not c.source] == []
    malformed = [c.id for c in cards if not re.match(r"(https://\S+\.\S+|notes: \S)", c.source)]
    assert malformed == []


def test_every_deck_has_recall_cards_and_exam_style_items(decks):
    for deck in decks:
        kinds = {c.type for c in deck.cards}
        assert kinds & {"basic", "cloze"} and kinds & set(EXAM_STYLE), deck.topic


@pytest.mark.parametrize("topic", ["self-attention", "transformer-architecture", "llm-processing",
                                   "sagemaker-jumpstart", "gpt-architecture"])
def test_processes_have_ordering_cards(decks, topic):
    assert any(c.type == "ordering" for d in decks if d.topic == topic for c in d.cards)


@pytest.mark.parametrize("topic", ["self-attention", "llm-parameters", "model-customization", "amazon-bedrock",
                                   "sagemaker-jumpstart", "foundation-models", "llm-processing"])
def test_tables_have_matching_cards(decks, topic):
    assert any(c.type == "matching" for d in decks if d.topic == topic for c in d.cards)


def test_every_card_explains_itself_and_names_its_exam_domain(cards):
    assert [c.id for c in cards if not c.explanation.strip()] == []
    assert [c.id for c in cards if c.domain is None] == []


def test_multiple_response_questions_say_how_many(cards):
    multiple = [card for card in cards if card.type == "mcq" and len(card.answers) > 1]
    assert len(multiple) >= 30
    for card in multiple:
        assert f"Choose {COUNT_WORDS[len(card.answers)]}" in card.question, card.id


def test_key_terms_of_the_notes_are_asked(cards):
    text = "\n".join(json.dumps(c.model_dump(), ensure_ascii=False) for c in cards).lower()
    missing = [term for term in KEY_TERMS if term.lower() not in text]
    assert missing == []


def test_every_check_has_a_code_card_and_every_code_card_a_check(cards):
    grading = pytest.importorskip("studycli.grading")
    used = {c.check for c in cards if c.type == "code"}
    assert used == set(grading.check_names())


def test_every_numeric_generator_runs_and_fills_its_question(cards):
    generators = pytest.importorskip("studycli.grading.generators")
    from studycli.cardtypes import fill_template

    numeric = [c for c in cards if c.type == "numeric"]
    assert numeric
    for card in numeric:
        for seed in range(3):
            params, answer, tolerance = generators.generate_numeric(card.generator, f"{card.id}:{seed}")
            question = fill_template(card.question, params)
            assert not re.search(r"\{\w+\}", question), (card.id, question)
            assert tolerance >= 0 and answer == answer, card.id   # exact counts have tolerance 0
