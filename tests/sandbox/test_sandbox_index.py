"""The sandbox front page lists the seeded emulator accounts for the demo."""

import requests


def test_index_lists_both_emulators(rc_emulator, hde_emulator, live_server):
    page = requests.get(f"{live_server.url}/sandbox/", timeout=10)
    assert page.status_code == 200
    assert f"{live_server.url}/sandbox/retailcrm/demo" in page.text
    assert rc_emulator.demo["api_key"] in page.text
    assert f"{live_server.url}/sandbox/hde/demo" in page.text
    assert hde_emulator.demo["email"] in page.text
    assert "/sandbox/hde/demo/tickets/new/" in page.text
