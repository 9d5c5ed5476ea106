"""payment_svc's message handlers: wire command in, locked load, domain decision, save, events out.

Each runs inside the runtime's transaction (``ctx.conn``): the effect, the inbox row and every
emitted event commit together. Looked up by message type in ``HANDLERS``.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas import Envelope, topics
from schemas import payment as payment_wire
from services.common.runtime import Accepted, Handler, HandlerContext, Outcome, Outgoing, Rejected
from services.payment_svc.adapters.postgres import load_for, save_decision
from services.payment_svc.domain.commands import Meta
from services.payment_svc.domain.outcomes import Decision
from services.payment_svc.domain.outcomes import Rejected as Refusal
from services.payment_svc.domain.services import decide
from services.payment_svc.wire import command_of, event_data, event_subject


def handle_command(msg: Envelope, ctx: HandlerContext) -> Outcome:
    """Any command of ``payment.commands``: the domain's ``decide`` tells them apart.

    The aggregates are locked before deciding (payments, then invoices, by number), so two
    service instances handling commands for one invoice serialize on its row.
    """
    cmd = command_of(msg.data)
    meta = Meta(
        tenant_id=msg.tenantid,
        # The codec refuses a command without an actor, so "" is never seen in practice.
        actor=msg.actor or "",
        command_id=msg.id,
        # The history records when the sender did it; the rows' bookkeeping uses ctx.now.
        at=msg.time,
    )
    loaded = load_for(ctx.conn, cmd, meta.tenant_id)
    outcome = decide(
        cmd,
        meta,
        payment=loaded.payment,
        invoice=loaded.invoice,
        invoices=loaded.invoices,
        payments=loaded.payments,
    )
    if isinstance(outcome, Refusal):
        return Rejected(outcome.code, outcome.message)
    save_decision(ctx.conn, loaded, outcome, at=ctx.now)
    return Accepted(_events(ctx, outcome))


def _events(ctx: HandlerContext, decision: Decision) -> tuple[Outgoing, ...]:
    return tuple(
        ctx.event(
            topics.PAYMENT_EVENTS,
            event.type,
            event_data(event, decision.allocation_changes),
            subject=event_subject(event),
        )
        for event in decision.events
    )


# One handler for every command of the contract: telling them apart is the domain's ``decide``.
HANDLERS: Mapping[str, Handler] = {type_: handle_command for type_ in payment_wire.COMMANDS}
