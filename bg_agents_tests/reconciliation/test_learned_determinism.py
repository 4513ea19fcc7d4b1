"""The learned matcher gives the same answer in every process: Python varies the iteration order
of sets of strings per process (hash randomization), and nothing the matcher derives (token ids,
which words and identifiers a row compares, weights, pairs) may follow that order."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# SIMULATED rows with many words and numbers each, so the ids they get would differ if assigned in
# a set's order, and rows are cut to their rarest words and identifiers with ties between them.
PROGRAM = """
import json
from datetime import date
from decimal import Decimal
from bg_agents.defs.reconciliation.matcher.evidence.features import build_pair
from bg_agents.defs.reconciliation.matcher.rules import Side

def side(prefix, k):
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet".split()
    text = " ".join(words[(k + i) % 10] for i in range(9)) + f" 12345{k} 67890{k} 2468{k}0"
    return Side(id=f"{prefix}{k}", date=date(2026, 3, 2), amount=Decimal("10.00"),
                currency="EUR", name=text, aliases=(f"Party {k} and sons",))

left, right, vocab = build_pair([side("L", k) for k in range(20)],
                                [side("R", k) for k in range(20)])
print(json.dumps({"words": list(vocab.words), "refs": list(vocab.refs),
                  "name_words": left.name_words.tolist(), "ref_pad": right.ref_pad.tolist()}))
"""


def derived_in_process(hash_seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], check=True, env=env, capture_output=True, text=True
    )
    return json.loads(done.stdout)


def test_token_ids_and_compared_tokens_do_not_depend_on_hash_randomization() -> None:
    first, second = derived_in_process("1"), derived_in_process("2")
    assert first == second
