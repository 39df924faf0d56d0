"""`loopline serve`: a registered model alias over HTTP, every prediction logged, switched as the
alias moves.

- `predictor`, `inputs`: how a model predicts (its own methods or a `@loopline.predictor`) and
  what it takes (`Array`, `Record`): requests are checked before the model sees them;
- `served`: the version held for an alias, followed as promotions move it;
- `recorder`, `writer`: served predictions into the inference log, off the request's path (the
  log in a writer process of its own, or in this one);
- `keys`: callers' API keys checked with the team server (`--require-key`);
- `service`, `app`: one served alias and its HTTP endpoints (FastAPI); `background`: the same
  in a thread (tests, the demo, benchmarks); `ray`: the same predictor on Ray Serve.

This package sits above the continuous-learning layer (it reads the registry and writes the
inference log) and below the CLI. Importing it loads neither FastAPI nor numpy: the names
below are what a user's predictor module needs.
"""

from __future__ import annotations

from loopline.serving.inputs import AnyInput, Array, InvalidInput, Record
from loopline.serving.predictor import Outputs, Predictor, predictor

__all__ = ["AnyInput", "Array", "InvalidInput", "Outputs", "Predictor", "Record", "predictor"]
