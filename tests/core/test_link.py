from __future__ import annotations

import pytest

from loopline.core.link import Link
from loopline.core.prompt import PromptResponse
from loopline.errors import UsageError


def test_a_link_keeps_its_label_and_url() -> None:
    link = Link(label="report", url="https://example.com/r/1")
    assert (link.label, link.url) == ("report", "https://example.com/r/1")


@pytest.mark.parametrize(("url", "missing"), [("example.com", "scheme"), ("https://", "netloc")])
def test_a_link_needs_a_scheme_and_a_host(url: str, missing: str) -> None:
    with pytest.raises(UsageError, match=f"missing {missing}"):
        Link(label="x", url=url)


def test_a_prompt_response_is_a_frozen_pair() -> None:
    answer = PromptResponse(prompt="2+2?", response="4")
    assert answer == PromptResponse("2+2?", "4") and hash(answer) == hash(PromptResponse("2+2?", "4"))
