#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer-cases.json: a few hundred varied texts with the ids and the
decoded text that transformers' CLIPTokenizer gives for them, using the vocabulary and merges
of a fixture folder. The Swift tokenizer tests compare against this file.

    python3 scripts/make-tokenizer-cases.py [--vocabulary Tests/Fixtures/clip-tiny]

The texts are a fixed list of tricky cases plus seeded random mixtures, so a rerun with the same
transformers version reproduces the file byte for byte.
"""
import argparse
import json
import random
from pathlib import Path

import transformers
from transformers import CLIPTokenizer

ROOT = Path(__file__).resolve().parent.parent
CONTEXT_LENGTH = 77

# Texts chosen one by one for a rule they exercise.
FIXED = [
    "", " ", "   \t\n  ", "a", "A", "a photo of a dog.", "A PHOTO OF A DOG.",
    # contractions, upper case included, and apostrophes that are not contractions
    "DON'T", "I'M HERE", "YOU'RE", "WE'VE", "SHE'LL", "HE'D", "IT'S", "it's", "'s", "''s",
    "'re'", "it'sn't", "rock'n'roll", "o'clock", "’s curly apostrophe", "can't won't shan't",
    "'S 'T 'RE 'VE 'M 'LL 'D", "'", "''", "x'", "'x", "'ll've'd",
    # digits are single tokens; other number characters too
    "0", "1234567890", "3.14159", "1,000,000", "12:30pm", "$100.00", "-42", "+1e-9",
    "x² H₂O ½ ¼ Ⅻ ① ١٢٣ ๓", "2023-01-01T00:00:00Z", "007 agent", "v1.2.3-beta",
    # punctuation runs
    "hello-world_foo/bar@baz #tag", "!!!???...", "C++ and C#", "A.I. U.S.A.", "(parens) [brackets]",
    "http://example.com/a?b=c&d=e#frag", "e-mail: someone@example.org", "~`!@#$%^&*()_+-={}|[]\\:\";'<>?,./",
    "«quoted» “smart” ‘single’ — dash – en … ellipsis", "¿qué? ¡sí!", "N° № ™ © ® ° °C",
    # whitespace of every kind folds away
    "numbers 12345 and 3.14, plus   extra    spaces", "tab\tseparated\tvalues", "line\nbreaks\r\nhere",
    "nbsp\u00a0space", "ideographic\u3000space", "line\u2028separator", "vertical\x0btab\x0cfeed",
    "em\u2003space", "zero\u200bwidth space", "joiner\u200dhere", "bom\ufeffinside", "nel\x85line",
    "ogham\u1680space", "\t\tleading and trailing\n\n",
    # accents, composed and decomposed (NFC joins them), and case mappings
    "naïve café résumé", "nai\u0308ve cafe\u0301 re\u0301sume\u0301", "Å Å Å", "ÅNGSTRÖM",
    "ñ n\u0303 Ñ N\u0303", "ǅ ǆ Ǆ", "ﬁle ﬂow", "straße STRASSE ẞ", "İstanbul ıi", "ΌΣΟΣ σοφός",
    "Ω Ω K K", "\u0301leading combining mark", "e\u0301\u0301\u0301 stacked", "Ⓐⓑ ⒜",
    "ａｂｃ ＡＢＣ fullwidth", "ｶﾀｶﾅ halfwidth", "Ĳ ĳ ŉ ǰ",
    # other scripts
    "你好世界", "日本語のテキストです。", "한국어 문장", "\u1100\u1161\u11a8 jamo", "Привет, мир!",
    "Καλημέρα κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "ქართული", "Հայերեն", "ⴰⵣⵓⵍ", "ᚠᚢᚦ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐛𝐨𝐥𝐝",
    # letters from Unicode 16, and from 17 (which transformers' regex does not know yet)
    "\U0001e5d0\U0001e5d1 ol onal", "\U00010940\U00010941 new letters", "\u088f\U00011db0",
    "\U00011de0\U00011de1 new digits", "\U00016ff4",
    # emoji and symbols
    "😀", "I ❤️ NY", "👍🏽 thumbs", "👨‍👩‍👧‍👦 family", "🇫🇷🇩🇪 flags", "🏳️‍🌈", "1️⃣2️⃣", "☃★♞♠",
    "→ ← ↔ ⇒ ∀∃∅∈", "∑ ∫ √ ∞ ≠ ≤", "🦖🦕 dinos!!", "hello🙂world",
    # control characters
    "null\x00byte", "bell\x07", "del\x7f", "esc\x1b[0m", "\x1c\x1d\x1e\x1f separators",
    # spellings of the special tokens, matched in the raw text only when exact
    "<|startoftext|>", "<|endoftext|>", "a <|startoftext|>b<|STARTOFTEXT|>>c <|endoftext|>",
    "<|ENDOFTEXT|>", "<|endoftext|>>", "<<|startoftext|>", "x<|endoftext|>y", "<|endoftext",
    "<|startoftext|><|endoftext|>", "!<|startoftext|>", "< |endoftext| >", "<|EndOfText|>>>",
    "İ<|endoftext|>İ",
]


def long_texts(rng):
    words = "a photo of the big small red blue dog cat tree house on in with near".split()
    yield " ".join(rng.choice(words) for _ in range(600))
    yield "x" * 5000
    yield "supercalifragilisticexpialidocious" * 120
    yield "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3000))
    yield "9" * 500
    yield "!?" * 800
    yield "日本語" * 400
    yield "a " * 74
    yield "a " * 75
    yield "a " * 76
    yield "word " * 5000


POOLS = {
    "word": "the a photo of dog cat sketch painting red green blue small big two three image "
    "picture sitting on chair window tree sky beach water person people car street".split(),
    "upper": "THE A PHOTO DOG CAT NASA USA OK HELLO World Photo iPhone McDonald".split(),
    "punct": list("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~") + ["...", "—", "–", "…", "“", "”", "‘", "’",
                                                            "«", "»", "¿", "¡", "·", "•", "※"],
    "space": [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\x0b", "\u2003", ""],
    "digit": list("0123456789") + ["42", "2024", "3.5", "١٢", "²", "½", "Ⅻ", "①"],
    "accent": ["é", "e\u0301", "Å", "A\u030a", "ñ", "ü", "ç", "ø", "ß", "İ", "Σ", "ς", "ǅ", "ﬁ",
               "Ω", "K", "ő", "ł", "ž", "ă", "ė"],
    "cjk": ["你", "好", "世界", "日本", "テキスト", "한국", "\u1100\u1161", "中文字符"],
    "emoji": ["😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🏳️‍🌈", "1️⃣", "🙂", "🦖"],
    "script": ["Привет", "Καλημέρα", "مرحبا", "שלום", "नमस्ते", "สวัสดี", "ქართ", "\U00010940"],
    "quote": ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'", "’"],
    "special": ["<|startoftext|>", "<|endoftext|>", "<|ENDOFTEXT|>", "<|", "|>"],
}


def random_texts(rng, count):
    names = [name for name in POOLS if name != "space"]
    weights = [8, 3, 4, 3, 3, 2, 2, 2, 3, 1]
    for _ in range(count):
        pieces = []
        for _ in range(rng.randint(1, 14)):
            pool = rng.choices(names, weights)[0]
            pieces.append(rng.choice(POOLS[pool]))
            # Pieces also run together, so that classes meet inside one word.
            if rng.random() < 0.66:
                pieces.append(rng.choice(POOLS["space"]))
        yield "".join(pieces)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocabulary", default=str(ROOT / "Tests/Fixtures/clip-tiny"),
                        help="folder with vocab.json and merges.txt")
    parser.add_argument("--output", default=str(ROOT / "Tests/Fixtures/tokenizer-cases.json"))
    parser.add_argument("--random", type=int, default=260, help="how many random mixtures")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    tokenizer = CLIPTokenizer.from_pretrained(args.vocabulary)
    rng = random.Random(args.seed)
    texts = list(dict.fromkeys(FIXED + list(long_texts(rng)) + list(random_texts(rng, args.random))))
    encoded = tokenizer(texts, padding="max_length", truncation=True, max_length=CONTEXT_LENGTH)
    cases = []
    for text, ids in zip(texts, encoded["input_ids"]):
        assert len(ids) == CONTEXT_LENGTH and ids[0] == tokenizer.bos_token_id
        cases.append({
            "text": text,
            "input_ids": ids,
            "decoded": tokenizer.decode(ids, skip_special_tokens=True),
        })

    vocabulary = Path(args.vocabulary).resolve()
    output = Path(args.output)
    document = {
        "reference": f"transformers {transformers.__version__} CLIPTokenizer",
        "vocabulary": vocabulary.name,
        "context_length": CONTEXT_LENGTH,
        "cases": cases,
    }
    # One case per line keeps a regenerated file easy to compare.
    lines = [json.dumps(case, ensure_ascii=False) for case in cases]
    header = json.dumps({k: v for k, v in document.items() if k != "cases"}, ensure_ascii=False)
    output.write_text(header[:-1] + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")
    json.loads(output.read_text(encoding="utf-8"))
    print(f"wrote {len(cases)} cases to {output}")


if __name__ == "__main__":
    main()
