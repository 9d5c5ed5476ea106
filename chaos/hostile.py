"""Hostile messages mixed into the real traffic, each of a known kind with a known fate.

Bytes no consumer can take (malformed JSON, wrong types, bad money, unknown types, a missing
tenant, more than 1 MiB, lone surrogates, NUL, deep nesting, a type on the wrong topic) must be
dead-lettered with their cause by every service that reads the topic. Well-formed commands that
the rules refuse (another tenant's numbers, forged admin actors) must get a ``command.rejected``
and change nothing. Either way: accounted for, never a crash, never a stalled partition.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from chaos.workload import ADMIN, Sent
from schemas import make_event, topics

# Who reads each topic hostile bytes are put on (so who must dead-letter them).
READERS: dict[str, tuple[str, ...]] = {
    topics.PAYMENT_COMMANDS: ("payment",),
    topics.PICKUP_COMMANDS: ("pickup",),
    topics.PICKUP_CANCEL_REQUESTED: ("pickup",),
    topics.PAYMENT_EVENTS: ("notify",),
    topics.PICKUP_EVENTS: ("notify",),
    topics.PICKUP_CANCEL_DECIDED: ("notify",),
}
BYTES_KINDS = (
    "malformed_json",
    "wrong_type",
    "float_money",
    "three_decimals",
    "negative_amount",
    "huge_amount",
    "unknown_type",
    "missing_tenant",
    "over_1_mib",
    "lone_surrogate",
    "lone_surrogate_tenant",
    "nul",
    "deep_nesting",
    "misrouted",
)
RULE_KINDS = ("other_tenants_ids", "forged_admin", "forged_pickup_decision")
OVERSIZE = 1024 * 1024 + 4096


class Hostile:
    def __init__(self, seed: int, tenants: Sequence[str]) -> None:
        self.rng = random.Random(seed ^ 0x5EED)
        self.tenants = tuple(tenants)
        self._n = 0
        self.made = 0
        self.oversize_left = 0

    def batch(
        self,
        count: int,
        now: datetime,
        payments: Sequence[tuple[str, str]],
        orders: Sequence[tuple[str, str]],
    ) -> list[Sent]:
        out = []
        for _ in range(count):
            kinds = BYTES_KINDS + (RULE_KINDS if payments and orders else ())
            kind = self.rng.choice(kinds)
            if kind == "over_1_mib" and self.oversize_left <= 0:
                kind = "malformed_json"  # a few large ones are enough; they cost broker space
            out.append(self._make(kind, now, payments, orders))
        self.made += len(out)
        return out

    def _id(self) -> str:
        self._n += 1
        return f"hostile-{self._n:07d}"

    def _make(
        self,
        kind: str,
        now: datetime,
        payments: Sequence[tuple[str, str]],
        orders: Sequence[tuple[str, str]],
    ) -> Sent:
        tenant = self.rng.choice(self.tenants)
        topic = self.rng.choice(list(READERS))
        if kind in RULE_KINDS:
            return self._rule_breaker(kind, now, payments, orders)
        msg = self._record_command(tenant, now)
        if topic in (topics.PAYMENT_EVENTS, topics.PICKUP_EVENTS, topics.PICKUP_CANCEL_DECIDED):
            msg = self._event(tenant, now, topic)
        elif topic != topics.PAYMENT_COMMANDS and kind != "misrouted":
            msg = self._arrange_command(tenant, now)
        data = msg["data"]
        raw: bytes | None = None
        if kind == "malformed_json":
            raw = json.dumps(msg).encode()[: self.rng.randrange(5, 60)]
        elif kind == "wrong_type":
            field = self.rng.choice([k for k in data if k != "payment_no"] or ["x"])
            # A number is a valid amount (money is a string or an integer), so not for money.
            wrong: list[Any] = [True, [], {"a": 1}] + ([12345] if field != "amount" else [])
            data[field] = self.rng.choice(wrong)
        elif kind in ("float_money", "three_decimals", "negative_amount", "huge_amount"):
            if topic != topics.PAYMENT_COMMANDS:
                topic, msg = topics.PAYMENT_COMMANDS, self._record_command(tenant, now)
            msg["data"]["amount"] = {
                "float_money": 1250.5,
                "three_decimals": "10.123",
                "negative_amount": "-10.00",
                "huge_amount": "10000000000000.01",
            }[kind]
        elif kind == "unknown_type":
            msg["type"] = self.rng.choice(["payment.explode", "pickup.teleport", "x"])
        elif kind == "missing_tenant":
            del msg["tenantid"]
        elif kind == "over_1_mib":
            self.oversize_left -= 1
            data["customer_id" if "customer_id" in data else "order_id"] = "A" * OVERSIZE
        elif kind in ("lone_surrogate", "lone_surrogate_tenant", "nul"):
            mark = "\x00" if kind == "nul" else "@@SURROGATE@@"
            if kind == "lone_surrogate_tenant":
                msg["tenantid"] = f"t{mark}"
            else:
                key = "customer_id" if "customer_id" in data else "order_id"
                data[key] = f"C{mark}"
            raw = json.dumps(msg).encode().replace(b"@@SURROGATE@@", b"\\ud800")
        elif kind == "deep_nesting":
            depth = 100_000
            raw = (
                json.dumps({**msg, "data": None})
                .encode()
                .replace(b'"data": null', b'"data": ' + b"[" * depth + b"]" * depth)
            )
        elif kind == "misrouted":
            topic = topics.PICKUP_COMMANDS  # a payment.record where pickup_svc reads
        value = raw if raw is not None else json.dumps(msg).encode()
        key_text = f"{msg.get('tenantid', tenant)}:{msg['subject']}"
        return Sent(topic, key_text.encode("utf-8", "replace"), value, None, hostile=kind)

    def _base(
        self, type_: str, subject: str, tenant: str, now: datetime, actor: str
    ) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": self._id(),
            "type": type_,
            "source": "/chaos/hostile",
            "time": now.isoformat(),
            "subject": subject,
            "tenantid": tenant,
            "actor": actor,
            "datacontenttype": "application/json",
        }

    def _record_command(self, tenant: str, now: datetime) -> dict[str, Any]:
        no = f"PR-H{self._n + 1}"
        msg = self._base("payment.record", no, tenant, now, "user:chaos-mallory")
        msg["data"] = {
            "payment_no": no,
            "customer_id": "C-H",
            "method": "cash",
            "amount": "10.00",
            "payment_date": "2026-11-20",
        }
        return msg

    def _arrange_command(self, tenant: str, now: datetime) -> dict[str, Any]:
        order = f"ORD-H{self._n + 1}"
        msg = self._base("pickup.arrange", order, tenant, now, "user:chaos-mallory")
        msg["data"] = {"order_id": order, "courier": "JNE", "payment_type": "cod"}
        return msg

    def _event(self, tenant: str, now: datetime, topic: str) -> dict[str, Any]:
        order = f"ORD-H{self._n + 1}"
        type_ = "pickup.arranged" if topic != topics.PAYMENT_EVENTS else "invoice.issued"
        msg = self._base(type_, order, tenant, now, "system:chaos")
        msg["data"] = {"order_id": order, "customer_id": "C-H"}
        return msg

    def _rule_breaker(
        self,
        kind: str,
        now: datetime,
        payments: Sequence[tuple[str, str]],
        orders: Sequence[tuple[str, str]],
    ) -> Sent:
        if kind == "forged_pickup_decision":
            tenant, order = self.rng.choice(orders)
            env = self._command(
                "pickup.cancel.decide",
                {"order_id": order, "decision": "approve", "reason": "forged"},
                time=now,
                tenant=tenant,
                subject=order,
                actor=self.rng.choice(["user:chaos-mallory", "admin:chaos-mallory"]),
            )
            return _valid(env, topics.PICKUP_COMMANDS, kind)
        tenant, payment = self.rng.choice(payments)
        if kind == "other_tenants_ids":
            # An admin of another tenant names this tenant's payment: to that tenant it does not
            # exist. Dated long ago, so it is refused at once rather than waiting for it.
            others = [t for t in self.tenants if t != tenant]
            env = self._command(
                "payment.cancel",
                {"payment_no": payment, "reason": "not yours"},
                time=now - timedelta(hours=2),
                tenant=self.rng.choice(others),
                subject=payment,
                actor=ADMIN,
            )
        else:
            env = self._command(
                "payment.cancel",
                {"payment_no": payment, "reason": "forged"},
                time=now,
                tenant=tenant,
                subject=payment,
                actor=self.rng.choice(["admin:chaos-mallory", "user:chaos-ani", "system:pickup"]),
            )
        return _valid(env, topics.PAYMENT_COMMANDS, kind)

    def _command(
        self,
        type_: str,
        data: dict[str, Any],
        *,
        time: datetime,
        tenant: str,
        subject: str,
        actor: str,
    ) -> Any:
        """A well-formed command from this source: only its rule-breaking makes it hostile."""
        return make_event(
            type_,
            data,
            id=self._id(),
            source="/chaos/hostile",
            time=time,
            tenantid=tenant,
            subject=subject,
            actor=actor,
        )


def _valid(env: Any, topic: str, kind: str) -> Sent:
    from schemas import encode, kafka_key

    return Sent(topic, kafka_key(env), encode(env), env, hostile=kind)
