"""Writes the bundled synthetic datasets (deterministic; run from this directory).

Task: "Name a <category>." answered with an item of that category. The preferred style is a
polite, lower-case answer ("apple, please."); the dispreferred one shouts the item of another
category ("CAR!!!"). Small enough for the bundled tiny model to learn on 2 CPU cores.
"""
import json
import random

CATEGORIES = {
    "fruit": ["apple", "banana", "cherry", "grape", "lemon", "mango", "peach", "plum"],
    "color": ["red", "blue", "green", "yellow", "purple", "orange", "pink", "brown"],
    "animal": ["cat", "dog", "horse", "tiger", "zebra", "mouse", "sheep", "camel"],
    "tool": ["hammer", "saw", "drill", "wrench", "chisel", "spade", "rake", "axe"],
    "drink": ["tea", "coffee", "milk", "juice", "water", "cocoa", "soda", "cider"],
    "vehicle": ["car", "bus", "train", "truck", "bike", "boat", "plane", "tram"],
}


def good(item):
    return f"{item}, please."


def bad(rng, category):
    other = rng.choice([c for c in CATEGORIES if c != category])
    return rng.choice(CATEGORIES[other]).upper() + "!!!"


def main():
    rng = random.Random(1234)
    cats = list(CATEGORIES)
    with open("sft.jsonl", "w") as f:
        for _ in range(400):
            c = rng.choice(cats)
            f.write(json.dumps({"input": f"Name a {c}.", "output": good(rng.choice(CATEGORIES[c]))}) + "\n")
    with open("preference.jsonl", "w") as f:
        for _ in range(400):
            c = rng.choice(cats)
            f.write(json.dumps({"prompt": f"Name a {c}.", "chosen": good(rng.choice(CATEGORIES[c])),
                                "rejected": bad(rng, c)}) + "\n")
    with open("kto.jsonl", "w") as f:
        for _ in range(400):
            c = rng.choice(cats)
            desirable = rng.random() < 0.5
            out = good(rng.choice(CATEGORIES[c])) if desirable else bad(rng, c)
            f.write(json.dumps({"prompt": f"Name a {c}.", "completion": out, "label": desirable}) + "\n")
    with open("prompts.jsonl", "w") as f:
        for i in range(60):
            f.write(json.dumps({"input": f"Name a {cats[i % len(cats)]}."}) + "\n")
    write_ppo(cats)


PHRASINGS = ["Name a {}.", "Give me a {}.", "Tell me a {}."]


def write_ppo(cats):
    """PPO example: an SFT set where half the answers shout (so the SFT policy is mixed), training
    prompts in two phrasings and held-out prompts in a third one the PPO run never sees."""
    rng = random.Random(4321)
    with open("ppo_sft.jsonl", "w") as f:
        for _ in range(480):
            c = rng.choice(cats)
            ask = rng.choice(PHRASINGS).format(c)
            out = good(rng.choice(CATEGORIES[c])) if rng.random() < 0.5 else bad(rng, c)
            f.write(json.dumps({"input": ask, "output": out}) + "\n")
    with open("ppo_prompts.jsonl", "w") as f:
        for i in range(48):
            f.write(json.dumps({"input": PHRASINGS[i % 2].format(cats[(i // 2) % len(cats)])}) + "\n")
    with open("ppo_eval_prompts.jsonl", "w") as f:
        for c in cats:
            f.write(json.dumps({"input": PHRASINGS[2].format(c)}) + "\n")


def write_math():
    """Verifiable-reward example: single-digit sums with the answer as the label (label_key "answer").
    The SFT answers are right only half of the time, so the SFT policy guesses; PPO with the
    exact_match rule reward (or the same rule behind --remote_rm_url) learns to add."""
    rng = random.Random(2468)
    pairs = [(a, b) for a in range(5) for b in range(5)]
    with open("math_sft.jsonl", "w") as f:
        for _ in range(600):
            a, b = rng.choice(pairs)
            answer = a + b if rng.random() < 0.5 else rng.choice([x for x in range(9) if x != a + b])
            f.write(json.dumps({"input": f"What is {a}+{b}?", "output": f"The answer is {answer}."}) + "\n")
    with open("math_prompts.jsonl", "w") as f:
        for a, b in pairs:
            f.write(json.dumps({"input": f"What is {a}+{b}?", "answer": str(a + b)}) + "\n")


if __name__ == "__main__":
    main()
    write_math()
