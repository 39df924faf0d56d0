"""The bare FastAPI endpoint `serve_bench` measures `loopline serve` against: the same pickled
scikit-learn model, `predict_proba` on one input, no validation beyond pydantic's, no logging.

    python -m benchmarks.serve_bare MODEL.pkl PORT
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class Features(BaseModel):
    input: list[float]


def create_app(model: Any) -> FastAPI:
    app = FastAPI()
    classes = np.asarray(model.classes_)

    @app.post("/predict")
    async def predict(body: Features) -> dict[str, Any]:
        scores = model.predict_proba(np.asarray([body.input]))[0]
        best = int(scores.argmax())
        return {
            "prediction": int(classes[best]),
            "confidence": float(scores[best]),
            "scores": scores.tolist(),
        }

    return app


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as file:
        loaded = pickle.load(file)
    uvicorn.run(create_app(loaded), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
