"""`lunas payment show|list` and `lunas invoice show`: payments and invoices as the back office
sees them.

The lead mounts ``payment_app`` and ``invoice_app`` in ``cli.py`` (``app.add_typer``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import psycopg
import typer

from services.ops import console

payment_app = typer.Typer(no_args_is_help=True, help="Customer payments (read only).")
invoice_app = typer.Typer(no_args_is_help=True, help="Invoices (read only).")

TenantOption = Annotated[
    str, typer.Option("--tenant", help="the distributor / seller account (tenantid)")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
View = Callable[[psycopg.Connection[Any], str, str], dict[str, Any] | None]


# A callback keeps each app a command group (``payment show``) even with one command in it.
@payment_app.callback()
def payments() -> None:
    """Customer payments (read only)."""


@invoice_app.callback()
def invoices() -> None:
    """Invoices (read only)."""


@payment_app.command("show")
def show_payment(
    payment_no: Annotated[str, typer.Argument(help="e.g. CP-250100041")],
    tenant: TenantOption,
    as_json: JsonFlag = False,
) -> None:
    """A payment: status, usage, allocations, and every status change (who, when, why)."""
    from services.payment_svc.adapters.queries import payment_view

    view = _read(payment_view, tenant, payment_no, "payment", as_json)
    if as_json:
        console.emit_json(view)
        return
    console.line(
        f"Payment {view['payment_no']}  {view['status'].upper()}  customer {view['customer_id']}"
    )
    console.line(
        f"  {view['method']} via {view['channel']}, {view['amount']} {view['currency']}"
        f" on {view['payment_date']}"
        + (f", resolved {view['resolved_date']}" if view["resolved_date"] else "")
    )
    console.line(
        f"  usage {view['usage']}: allocated {view['allocated']}, unallocated {view['unallocated']}"
    )
    if view["giro"]:
        giro = view["giro"]
        console.line(f"  giro {giro['number']} ({giro['bank']}), due {giro['due_date']}")
    if view["cancel_requested_by"] and view["status"] == "cancel_requested":
        console.line(
            f"  cancellation asked by {view['cancel_requested_by']}, waiting for another admin"
            f" to approve or reject it: {view['cancel_reason_code'] or '-'}"
            f" {view['cancel_reason'] or ''}"
        )
    elif view["status"] == "bounced":
        console.line(
            f"  bounced {view['bounced_date'] or ''}: {view['cancel_reason'] or '-'}"
            + (f", bank charge {view['bank_charge']}" if view["bank_charge"] else "")
        )
    elif view["cancel_reason_code"] or view["cancel_reason"]:
        console.line(
            f"  cancelled: {view['cancel_reason_code'] or '-'} {view['cancel_reason'] or ''}"
        )
    console.line(f"  customer's bounced giros: {view['customer_bounced_giros']}")
    console.table(
        "Allocations",
        ("invoice", "amount", "invoice status"),
        [(a["invoice_no"], a["amount"], a["invoice_status"]) for a in view["allocations"]],
    )
    _history_table(view["history"])
    _waiting_table(view["waiting"])


@payment_app.command("list")
def list_payments(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="one account only (default: every tenant)")
    ] = None,
    status: Annotated[str | None, typer.Option(help="e.g. active, cancel_requested")] = None,
    method: Annotated[str | None, typer.Option(help="cash, transfer, giro or cheque")] = None,
    due_before: Annotated[
        str | None,
        typer.Option("--due-before", help="giros/cheques due on or before YYYY-MM-DD"),
    ] = None,
    customer: Annotated[str | None, typer.Option(help="one customer id")] = None,
    limit: Annotated[int, typer.Option(help="at most this many (1-1000)")] = 200,
    as_json: JsonFlag = False,
) -> None:
    """Payments by status, method and giro due date (seed 001: Active giros due by a day)."""
    from services.payment_svc.adapters.listing import PaymentFilter
    from services.payment_svc.adapters.listing import list_payments as select

    try:
        wanted = PaymentFilter(
            tenant_id=tenant,
            status=status,  # type: ignore[arg-type]  # checked by PaymentFilter
            method=method,  # type: ignore[arg-type]
            due_before=date.fromisoformat(due_before) if due_before else None,
            customer_id=customer,
            limit=limit,
        )
    except ValueError as exc:
        console.fail(str(exc))
    settings = console.settings()
    try:
        with psycopg.connect(settings.database_dsn()) as conn:
            rows = select(conn, wanted)
    except psycopg.Error as exc:
        console.fail(f"cannot read the payment database: {exc}")
    if as_json:
        console.emit_json({"payments": rows})
        return
    console.table(
        f"Payments ({len(rows)})",
        ("tenant", "payment", "customer", "status", "method", "amount", "giro", "due"),
        [
            (
                r["tenant_id"],
                r["payment_no"],
                r["customer_name"] or r["customer_id"],
                r["status"],
                r["method"],
                r["amount"],
                f"{r['giro']['bank']} {r['giro']['number']}" if r["giro"] else None,
                r["giro"]["due_date"] if r["giro"] else None,
            )
            for r in rows
        ],
    )


@invoice_app.command("show")
def show_invoice(
    invoice_no: Annotated[str, typer.Argument(help="e.g. INV-230800511")],
    tenant: TenantOption,
    as_json: JsonFlag = False,
) -> None:
    """An invoice: status, outstanding, the payments allocated to it, and its status history."""
    from services.payment_svc.adapters.queries import invoice_view

    view = _read(invoice_view, tenant, invoice_no, "invoice", as_json)
    if as_json:
        console.emit_json(view)
        return
    console.line(
        f"Invoice {view['invoice_no']}  {view['status'].upper()}  customer {view['customer_id']}"
    )
    console.line(
        f"  amount {view['amount']} {view['currency']}, outstanding {view['outstanding']}"
        f" (allocated {view['allocated']}, settled {view['settled']})"
    )
    if view["void_reason"] or view["voided_at"]:
        console.line(f"  void since {view['voided_at']}: {view['void_reason'] or '-'}")
    console.table(
        "Allocations by payment",
        ("payment", "amount", "payment status"),
        [(a["payment_no"], a["amount"], a["payment_status"]) for a in view["allocations"]],
    )
    _history_table(view["history"])
    _waiting_table(view["waiting"])


def _read(view: View, tenant: str, number: str, what: str, as_json: bool) -> dict[str, Any]:
    from services.payment_svc.adapters.queries import waiting_on

    settings = console.settings()
    try:
        with psycopg.connect(settings.database_dsn()) as conn:
            found = view(conn, tenant, number)
            waiting = waiting_on(conn, tenant, number) if found is None else []
    except psycopg.Error as exc:
        console.fail(f"cannot read the payment database: {exc}")
    if found is None and waiting:
        # Not there yet, but commands wait for it: say so, and what they are.
        if as_json:
            console.emit_json({"exists": False, "waiting": waiting})
        else:
            console.line(f"{what} {number} does not exist yet for tenant {tenant}")
            _waiting_table(waiting)
        raise typer.Exit(0)
    if found is None:
        console.fail(f"{what} {number} not found for tenant {tenant}")
    return found


def _waiting_table(waiting: list[dict[str, Any]]) -> None:
    if not waiting:
        return
    console.table(
        "Waiting for what they name",
        ("command", "type", "waits for", "since", "refused not_found at"),
        [
            (w["command_id"], w["command_type"], ", ".join(w["awaits"]), w["since"], w["deadline"])
            for w in waiting
        ],
    )


def _history_table(history: list[dict[str, Any]]) -> None:
    console.table(
        "Status history",
        ("when", "from", "to", "who", "command", "reason"),
        [
            (
                h["at"],
                h["from_status"],
                h["to_status"],
                h["actor"],
                h["command_id"],
                " ".join(x for x in (h["reason_code"], h["reason"]) if x) or None,
            )
            for h in history
        ],
    )
