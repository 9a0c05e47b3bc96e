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


if __name__ == "__main__":
    main()
