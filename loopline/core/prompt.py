"""`PromptResponse`: a prompt to a language model and the response it gave."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class PromptResponse:
    """A language model prompt and its response (Sematic's `PromptResponse`)."""

    prompt: str
    response: str
