"""The consumer's steps with no IO: decode/route, claims, dedupe, apply with undo, emit, offsets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import Envelope, decode, encode, topics
from services.common.domain import Rejected
from services.common.runtime import emitting, sighting, steps
from services.common.runtime.records import Record
from services.common.runtime.seam import Accepted, Await, MessageContext, Outcome, Ref
from services.common.runtime.store import InboxKey, Seen
from services.common.runtime.waiting import WaitBook, WaitLimits

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROUTER = steps.Router(
    "toy",
    {
        topics.PAYMENT_COMMANDS: frozenset({"invoice.issue", "payment.cancel", "payment.confirm"}),
        topics.PICKUP_CANCEL_REQUESTED: frozenset({"pickup.cancel.requested"}),
    },
    frozenset({"invoice.issue", "payment.cancel"}),
    "toy",
)


def command(msg_id: str = "c1", amount: str = "10.00", **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "specversion": "1.0",
        "id": msg_id,
        "type": "invoice.issue",
        "source": "/billing/test",
        "time": "2026-12-01T08:00:00Z",
        "subject": "INV-1",
        "tenantid": "t1",
        "actor": "system:billing",
        "data": {
            "invoice_no": "INV-1",
            "customer_id": "C1",
            "amount": amount,
            "issue_date": "2026-12-01",
        },
    }
    body.update(over)
    return body


def record(value: bytes | dict[str, Any], offset: int = 0, topic: str = "") -> Record:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    headers = (("content-type", b"application/cloudevents+json"),)
    return Record(topic or topics.PAYMENT_COMMANDS, 0, offset, b"t1:INV-1", raw, headers, 1)


def decoded(*values: bytes | dict[str, Any]) -> list[steps.Command | steps.Poison]:
    return [steps.decode_record(record(v, i), ROUTER) for i, v in enumerate(values)]


class FakeUnitOfWork:
    """Staged rows in a list: enough to see what ``apply`` keeps and what it undoes."""

    def __init__(self) -> None:
        self.staged: list[str] = []
        self.known: set[str] = set()

    def prepare(self, messages: Sequence[Envelope]) -> None:
        pass

    def load(self, messages: Sequence[Envelope]) -> None:
        pass

    def mark(self) -> object:
        return len(self.staged)

    def undo(self, mark: object) -> None:
        assert isinstance(mark, int)
        del self.staged[mark:]

    def flush(self) -> None:
        pass

    def exists(self, ref: Ref) -> bool:
        return ref.id in self.known


def handle(msg: Envelope, *, uow: FakeUnitOfWork, ctx: MessageContext) -> Outcome:
    uow.staged.append(msg.id)
    data: Any = msg.data
    if str(data.amount) == "13.13":
        return Rejected("invalid", "unlucky")
    if data.customer_id == "BOOM":
        raise RuntimeError("handler bug")
    return Accepted((ctx.event(topics.PAYMENT_EVENTS, "invoice.issued", _issued(data)),))


def _issued(data: Any) -> dict[str, Any]:
    return {
        "invoice_no": data.invoice_no,
        "customer_id": data.customer_id,
        "amount": data.amount,
        "outstanding": data.amount,
        "status": "unpaid",
        "issue_date": data.issue_date,
    }


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"{not json", "not_json"),
        (b"[" * 100_000 + b"]" * 100_000, "not_json"),
        (command(type="payment.confirm", data={"payment_no": "INV-1"}), "unknown_type"),
        (command(reason="\ud800"), "invalid_text"),
        (command(tenantid="t\ud83d"), "invalid_text"),
        (command(data={**command()["data"], "customer_id": "C\x00"}), "schema"),
        (
            command(type="payment.cancel", data={"payment_no": "INV-1", "reason": "a\x00"}),
            "invalid_text",
        ),
        (command(), None),
    ],
)
def test_decode_never_raises_and_names_the_cause(value: Any, error: str | None) -> None:
    [item] = decoded(value)
    if error is None:
        assert isinstance(item, steps.Command)
    else:
        assert isinstance(item, steps.Poison) and item.error == error, item


def test_a_type_that_does_not_belong_on_its_topic_is_misrouted() -> None:
    item = steps.decode_record(record(command(), topic=topics.PICKUP_CANCEL_REQUESTED), ROUTER)
    assert isinstance(item, steps.Poison) and item.error == "misrouted"


def test_dedupe_tells_new_duplicate_and_conflict_apart_in_and_across_batches() -> None:
    items = decoded(command("a"), command("a"), command("a", amount="11.00"), command("b"))
    work = steps.dedupe(items, {}, "toy", "toy")
    assert [type(w).__name__ for w in work] == ["Apply", "Duplicate", "Conflict", "Apply"]
    claims = steps.claims(items, "toy", "toy")
    assert [c.key.message_id for c in claims] == ["a", "b"]  # one claim per distinct id

    first = items[0]
    assert isinstance(first, steps.Command)
    seen = {first.key: Seen(first.digest, "applied")}
    again = steps.dedupe(decoded(command("a"), command("a", amount="12.00")), seen, "toy", "toy")
    assert [type(w).__name__ for w in again] == ["Duplicate", "Conflict"]


def test_poison_is_dead_lettered_once_per_record() -> None:
    items = decoded(b"garbage")
    [letter] = steps.dedupe(items, {}, "toy", "toy")
    assert isinstance(letter, steps.Letter)
    assert (
        steps.dedupe(items, {letter.key: Seen("-", "dead_lettered:malformed")}, "toy", "toy") == []
    )


def test_a_failing_handler_loses_only_its_own_staged_changes() -> None:
    items = decoded(
        command("ok-1"), command("boom", data={**command()["data"], "customer_id": "BOOM"})
    )
    items += decoded(command("unlucky", amount="13.13"))
    items += decoded(command("ok-2"))
    uow = FakeUnitOfWork()
    work = steps.dedupe(items, {}, "toy", "toy")
    results = steps.apply(work, uow, {"invoice.issue": handle}, now=NOW, source="/svc/toy")
    assert [type(r).__name__ for r in results] == ["Applied", "Failed", "Refused", "Applied"]
    assert uow.staged == ["ok-1", "ok-2"]

    out = emitting.emit(
        results,
        consumer="toy",
        service="toy",
        source="/svc/toy",
        rejections_topic=topics.PAYMENT_EVENTS,
        now=NOW,
    )
    outcomes = {k.message_id: o for k, o in out.settle}
    assert outcomes["ok-1"] == outcomes["ok-2"] == "applied"
    assert outcomes["unlucky"] == "rejected:invalid"
    # The failed command's own claim is given back (a redrive from the DLQ can apply it) and its
    # dead letter is claimed instead.
    assert [k.message_id for k in out.release] == ["boom"]
    assert [c.key.tenant_id for c in out.letters] == [""]
    assert sorted(r.topic for r in out.outbox) == sorted(
        [topics.PAYMENT_EVENTS] * 3 + [topics.dlq_topic(topics.PAYMENT_COMMANDS)]
    )


def test_a_transient_error_in_a_handler_fails_the_whole_batch() -> None:
    import psycopg

    def flaky(msg: Envelope, *, uow: FakeUnitOfWork, ctx: MessageContext) -> Outcome:
        raise psycopg.OperationalError("server closed the connection")

    work = steps.dedupe(decoded(command()), {}, "toy", "toy")
    with pytest.raises(psycopg.OperationalError):
        steps.apply(work, FakeUnitOfWork(), {"invoice.issue": flaky}, now=NOW, source="/svc/toy")


def test_offsets_are_one_past_the_last_record_of_each_partition() -> None:
    rs = [
        Record("a", 0, 5, None, b"", (), None),
        Record("a", 0, 7, None, b"", (), None),
        Record("a", 1, 2, None, b"", (), None),
    ]
    assert emitting.next_offsets(rs) == {("a", 0): 8, ("a", 1): 3}


def test_an_inbox_key_holds_tenant_source_and_id() -> None:
    [item] = decoded(command("x"))
    assert isinstance(item, steps.Command)
    assert item.key == InboxKey("toy", "t1", "/billing/test", "x")


# --- waiting ------------------------------------------------------------------------------


def waits_for_invoice(msg: Envelope, *, uow: FakeUnitOfWork, ctx: MessageContext) -> Outcome:
    """``payment.cancel`` as a stand-in for a command naming an invoice (in its ``reason``)."""
    data: Any = msg.data
    if msg.type == "invoice.issue":
        uow.known.add(data.invoice_no)
        uow.staged.append(msg.id)
        return Accepted()
    if data.reason not in uow.known:
        if ctx.may_wait:
            return Await((Ref("invoice", msg.tenantid, data.reason),))
        return Rejected("not_found", f"invoice {data.reason} not found")
    uow.staged.append(msg.id)
    return Accepted()


def cancel(msg_id: str, names: str, subject: str = "P-1", time: str = "") -> dict[str, Any]:
    return command(
        msg_id,
        type="payment.cancel",
        subject=subject,
        time=time or NOW.isoformat(),
        data={"payment_no": subject, "reason": names},
    )


def issue(msg_id: str, invoice_no: str) -> dict[str, Any]:
    return command(
        msg_id,
        subject=invoice_no,
        time=NOW.isoformat(),
        data={**command()["data"], "invoice_no": invoice_no},
    )


def run(book: WaitBook, *values: dict[str, Any], uow: FakeUnitOfWork | None = None) -> Any:
    uow = uow or FakeUnitOfWork()
    handlers = {"invoice.issue": waits_for_invoice, "payment.cancel": waits_for_invoice}
    work = steps.dedupe(decoded(*values), {}, "toy", "toy")
    results = steps.apply(work, uow, handlers, now=NOW, source="/svc/toy", book=book)
    return results, uow


def names(results: list[steps.Result]) -> list[str]:
    out = []
    for r in results:
        command = getattr(r, "command", None)
        out.append(f"{type(r).__name__}:{command.envelope.id if command else '-'}")
    return out


def test_a_command_before_what_it_names_waits_and_goes_once_it_exists() -> None:
    book = WaitBook()
    early, behind = cancel("early", "INV-9"), cancel("behind", "INV-9")
    results, uow = run(book, early, behind, issue("i", "INV-9"))
    # "behind" has the same subject as the waiting "early": it queues, then both go in order.
    assert names(results) == ["Applied:i", "Applied:early", "Applied:behind"]
    assert uow.staged == ["i", "early", "behind"]
    assert book.remaining() == []


def test_a_later_command_of_the_subject_queues_behind_one_waiting_for_something_else() -> None:
    book = WaitBook()
    results, _ = run(book, cancel("first", "INV-9"), cancel("second", "INV-1"))
    assert names(results) == ["Waiting:first", "Waiting:second"]
    # "second" waits only because "first" does: it awaits nothing itself.
    assert [r.awaits for r in book.remaining()] == [(Ref("invoice", "t1", "INV-9"),), ()]


def test_what_never_comes_is_still_waiting_at_the_end_of_the_batch() -> None:
    book = WaitBook()
    results, _ = run(book, cancel("early", "INV-9"))
    assert names(results) == ["Waiting:early"]
    assert [r.awaits for r in book.remaining()] == [(Ref("invoice", "t1", "INV-9"),)]


def test_a_command_older_than_the_timeout_is_decided_at_once() -> None:
    book = WaitBook()
    old = (NOW - timedelta(hours=1)).isoformat()
    results, _ = run(book, cancel("late", "INV-9", time=old))
    assert names(results) == ["Refused:late"]


def test_beyond_the_per_tenant_cap_a_command_is_refused_saying_so() -> None:
    book = WaitBook(limits=WaitLimits(per_tenant=1))
    results, _ = run(book, cancel("a", "INV-8", subject="P-1"), cancel("b", "INV-9", subject="P-2"))
    assert names(results) == ["Refused:b", "Waiting:a"]
    refused = results[0]
    assert isinstance(refused, steps.Refused) and "limit" in refused.rejected.message


def test_each_parked_command_tells_its_sender_what_it_waits_for_and_until_when() -> None:
    book = WaitBook()
    results, _ = run(book, cancel("first", "INV-9"), cancel("second", "INV-1"))
    out = emitting.emit(
        results,
        consumer="toy",
        service="toy",
        source="/svc/toy",
        rejections_topic=topics.PAYMENT_EVENTS,
        now=NOW,
    )
    told = [json.loads(row.value) for row in out.outbox]
    assert [(t["type"], t["causationid"]) for t in told] == [
        ("command.waiting", "first"),
        ("command.waiting", "second"),
    ]
    assert {row.topic for row in out.outbox} == {topics.PAYMENT_EVENTS}
    first, second = (t["data"] for t in told)
    assert first["awaiting"] == [{"kind": "invoice", "id": "INV-9"}]
    # Queued behind "first", "second" waits for what "first" awaits, not for what it names.
    assert second["awaiting"] == [{"kind": "invoice", "id": "INV-9"}]
    assert first["until"] == (NOW + WaitLimits().timeout).isoformat().replace("+00:00", "Z")
    assert first["stage"] == "parked"
    assert out.settle == [(r.command.key, "waiting") for r in results]
    # The same batch emitted again (a redone transaction) gives the same ids.
    again = emitting.emit(
        results,
        consumer="toy",
        service="toy",
        source="/svc/toy",
        rejections_topic=topics.PAYMENT_EVENTS,
        now=NOW,
    )
    assert [r.event_id for r in again.outbox] == [r.event_id for r in out.outbox]


# --- replay: known records found before decode ------------------------------------------------


def canonical(body: dict[str, Any]) -> bytes:
    """The bytes the contract's codec writes for ``body`` (defaults spelled out)."""
    return encode(decode(json.dumps(body).encode()))


def test_a_sighting_names_the_key_and_content_hash_that_decode_finds() -> None:
    r = record(canonical(command()))
    seen = sighting.sighting(r, ROUTER)
    full = steps.decode_record(r, ROUTER)
    assert isinstance(full, steps.Command) and seen is not None
    assert (seen.key, seen.digest) == (full.key, full.digest)


def test_only_a_record_with_the_id_and_the_content_the_inbox_holds_is_a_known_duplicate() -> None:
    held = steps.decode_record(record(canonical(command())), ROUTER)
    assert isinstance(held, steps.Command)
    inbox = {held.key: Seen(held.digest, "applied")}
    same = sighting.sighting(record(canonical(command()), 1), ROUTER)
    other = sighting.sighting(record(canonical(command(amount="11.00")), 2), ROUTER)
    new = sighting.sighting(record(canonical(command("c2")), 3), ROUTER)
    assert same is not None and other is not None and new is not None
    assert sighting.known_duplicates([same, other, new], inbox) == {0}


def test_another_spelling_of_the_same_content_is_left_to_decode() -> None:
    # 10 and "10.00" are the same amount: decode says so (a duplicate), the raw values do not.
    held = steps.decode_record(record(canonical(command())), ROUTER)
    assert isinstance(held, steps.Command)
    spelled = json.loads(canonical(command()))
    spelled["data"]["amount"] = 10
    seen = sighting.sighting(record(spelled), ROUTER)
    assert seen is not None and seen.key == held.key
    assert sighting.known_duplicates([seen], {held.key: Seen(held.digest, "applied")}) == set()
    again = steps.decode_record(record(spelled), ROUTER)
    assert isinstance(again, steps.Command) and again.digest == held.digest


@pytest.mark.parametrize(
    "value",
    [
        json.dumps(command(type="payment.confirm")).encode(),  # not handled here
        json.dumps(command(subject="INV-\u0000")).encode(),  # a NUL: decode says why
        json.dumps(command(actor=5)).encode(),
        b'{"id": "c1", "id": "c2"}',
        b"[1, 2]",
        b"not json",
    ],
)
def test_what_a_plain_parse_cannot_vouch_for_is_left_to_decode(value: bytes) -> None:
    assert sighting.sighting(record(value), ROUTER) is None


def test_a_type_on_a_topic_that_does_not_take_it_is_left_to_decode() -> None:
    misrouted = record(command(), topic=topics.PICKUP_CANCEL_REQUESTED)
    assert sighting.sighting(misrouted, ROUTER) is None
