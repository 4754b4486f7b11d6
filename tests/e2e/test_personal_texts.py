"""Personal texts on the running local stack (DESIGN §12), as a merchant and the carrier see them."""

from __future__ import annotations

import time

import requests

from tests.e2e.conftest import LocalStack, sandbox_submissions


def _submitted_texts(stack: LocalStack, message_id: str, count: int) -> dict[str, str]:
    """The texts the sandbox carriers received for ``message_id``, by number, once ``count`` arrived."""
    deadline = time.monotonic() + 20
    texts: dict[str, str] = {}
    while time.monotonic() < deadline:
        received = sandbox_submissions(stack, message_id).values()
        texts = {entry["to"]: entry["text"] for entries in received for entry in entries}
        if len(texts) >= count:
            return texts
        time.sleep(0.2)
    return texts


def test_a_personal_send_reaches_the_carrier_as_three_texts(local_stack: LocalStack) -> None:
    # Given a template and three recipients with their own values
    sent = requests.post(
        f"{local_stack.base_url}/send",
        json={
            "to": [
                {"to": "+254712345678", "vars": {"name": "Amina", "code": "4821"}},
                {"to": "+254733000011", "vars": {"name": "Baraka", "code": "1193"}},
                {"to": "+254722000012", "vars": {"name": "Chidi", "code": "7702"}},
            ],
            "message": "Hi {{name}}, your code is {{code}}",
        },
        headers={"app-key": local_stack.app_key},
        timeout=10,
    )
    # Then the reply counts three one-part texts
    assert sent.status_code == 200, sent.text
    data = sent.json()["data"]
    assert (data["segments"], data["segments_total"]) == (1, 3)
    # And the sandbox's /submissions shows each recipient's own rendered text
    assert _submitted_texts(local_stack, data["message_id"], 3) == {
        "+254712345678": "Hi Amina, your code is 4821",
        "+254733000011": "Hi Baraka, your code is 1193",
        "+254722000012": "Hi Chidi, your code is 7702",
    }
