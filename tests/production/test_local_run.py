"""End to end on the production-like local run: gunicorn + PostgreSQL + the Gmail emulator.

A prospect answers in Gmail, Gmail's push reaches /gmail/push with a signed OIDC token, the
background pool syncs the mailbox, and the rep's API stops listing the prospect as silent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from deploy.local_run import DEMO_REP, LocalStack, wait_for
from tests.production.conftest import scratch_pg

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(pg_url_module: str) -> Iterator[LocalStack]:
    with scratch_pg(pg_url_module, "localrun") as url:
        with LocalStack(url, workers=2, threads=4, mailbox_threads=40) as running:
            yield running


@pytest.fixture(scope="module")
def pg_url_module() -> str:
    from tests.conftest import PG_URL, need

    if not PG_URL:
        need("STEPBACK_TEST_DATABASE_URL is not set (PostgreSQL tests)")
    return PG_URL


def silent_threads(stack: LocalStack, token: str) -> set[str]:
    status, page = stack.request("GET", "/api/v1/prospects?kind=silent&per_page=100", token=token)
    assert status == 200, page
    return {item["threadId"] for item in page["items"]}


def test_first_sync_and_watch_run_through_the_scheduler_endpoints(stack: LocalStack) -> None:
    status, body = stack.task("poll-quiet-mailboxes")
    assert status == 200 and body["results"] == {"synced": 1}, body
    status, body = stack.task("renew-watches")
    assert status == 200 and body["results"] == {"renewed": 1}, body
    assert stack.emulator.watch_topic == "projects/stepback-local/topics/stepback-gmail"
    token = stack.api_token(DEMO_REP)
    status, me = stack.request("GET", "/api/v1/me", token=token)
    assert status == 200 and me["mailboxStatus"] == "ok" and me["lastSyncAt"]


def test_a_push_makes_the_answer_show_up_in_the_api(stack: LocalStack) -> None:
    token = stack.api_token(DEMO_REP)
    before = silent_threads(stack, token)
    assert before, "the demo mailbox should have silent prospects"
    thread_id = sorted(before)[0]
    stack.prospect_answers(thread_id)
    assert stack.push(DEMO_REP, stack.emulator.history_id) == 204
    assert wait_for(lambda: thread_id not in silent_threads(stack, token), timeout=30), (
        stack.log_tail()
    )
    # Only that thread changed.
    assert silent_threads(stack, token) == before - {thread_id}


def test_gunicorn_refuses_forged_pushes_and_unknown_tokens(stack: LocalStack) -> None:
    status, body = stack.request("POST", "/gmail/push", token="forged", body={"message": {}})
    assert status == 401 and body["error"]["code"] == 401
    status, _ = stack.request("GET", "/api/v1/prospects", token="not-a-google-token")
    assert status == 401
    status, _ = stack.request("POST", "/tasks/due-getbacks")
    assert status == 401


def test_the_access_log_never_shows_query_strings(stack: LocalStack) -> None:
    token = stack.api_token(DEMO_REP)
    stack.request("GET", "/api/v1/prospects?kind=silent&per_page=7", token=token)
    log: Any = stack.log_path.read_text()
    assert '"GET /api/v1/prospects"' in log
    assert "per_page=7" not in log and token not in log
