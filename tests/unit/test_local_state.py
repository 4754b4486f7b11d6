"""The local stack's saved state file: what goes in comes back, and a file it cannot read
stops the start instead of being overwritten with an empty state."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.bootstrap import DemoTenants
from local.state import STATE_FILE, SavedState, UnreadableStateError, load_state, save_state

DEMO = DemoTenants(
    org_id="org_demo",
    app_key="lsk_demo",
    second_org_id="org_second",
    second_app_key="lsk_second",
    carrier_token="lct_sandbox",
    webhook_secret="whsec_demo",
)


def test_items_come_back_as_they_were_saved_binary_values_included(tmp_path: Path) -> None:
    # Given items with every attribute type, binary ones nested in maps and lists too
    item = {
        "PK": {"S": "ORG#org_demo"},
        "count": {"N": "3"},
        "hash": {"B": b"\x00\xffbytes"},
        "hashes": {"BS": [b"\x01", b"\x02"]},
        "tags": {"SS": ["a", "b"]},
        "flag": {"BOOL": True},
        "nothing": {"NULL": True},
        "nested": {"M": {"B": {"B": b"\x03"}, "list": {"L": [{"B": b"\x04"}, {"S": "x"}]}}},
    }
    saved = SavedState(demo=DEMO, inspector_port=3002, tables={"SmsTable": [item], "IdempotencyTable": []})

    # When they are saved and loaded
    save_state(tmp_path / "state", saved)
    loaded = load_state(tmp_path / "state")

    # Then they are the same, and no temporary file is left behind
    assert loaded == saved
    assert [path.name for path in (tmp_path / "state").iterdir()] == [STATE_FILE]


def test_a_directory_without_state_is_a_first_start(tmp_path: Path) -> None:
    assert load_state(tmp_path) is None


@pytest.mark.parametrize(
    "content",
    ['{"format": 99, "demo": {}, "inspector_port": 1, "tables": {}}', "{not json", '{"format": 1}'],
    ids=["other-format", "garbled", "incomplete"],
)
def test_a_state_file_it_cannot_read_stops_the_start(tmp_path: Path, content: str) -> None:
    (tmp_path / STATE_FILE).write_text(content)
    with pytest.raises(UnreadableStateError, match="move it away"):
        load_state(tmp_path)
