"""Error mining: miners pick likely mistakes out of inference records (and feedback).

    from loopline import miners

    table = miners.InferenceTable.load(InferenceQuery(model="digits"))
    found = miners.mine(table, [miners.feedback, miners.low_confidence], budget=40, exclude=golden)

A miner is a function `InferenceTable -> Candidates` (settings as keyword arguments, bound with
`functools.partial` or a lambda). Built in: `low_confidence`, `feedback`, `disagreement`,
`out_of_distribution`, and `label_errors` for the training set (confident learning; cleanlab
when installed). `mine` de-duplicates, keeps golden examples out and caps by a budget.
"""

from __future__ import annotations

from loopline.cl.mining.candidates import Candidate, Candidates, Miner, mine
from loopline.cl.mining.label_errors import confident_learning_issues, label_errors
from loopline.cl.mining.miners import disagreement, feedback, low_confidence, out_of_distribution
from loopline.cl.production.table import InferenceTable

__all__ = [
    "Candidate",
    "Candidates",
    "InferenceTable",
    "Miner",
    "confident_learning_issues",
    "disagreement",
    "feedback",
    "label_errors",
    "low_confidence",
    "mine",
    "out_of_distribution",
]
