"""`lunas pickup show ORDER` and `lunas pickup list --status S [--tenant T]`: orders as the
back office sees them (read only). The lead mounts ``pickup_app`` in ``cli.py``."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
import typer

from services.ops import console

pickup_app = typer.Typer(no_args_is_help=True, help="Courier pickups (read only).")

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@pickup_app.callback()
def pickups() -> None:
    """Courier pickups (read only)."""


@pickup_app.command("show")
def show_order(
    order_id: Annotated[str, typer.Argument(help="e.g. ORD-2024-000871")],
    tenant: Annotated[str, typer.Option("--tenant", help="the seller account (tenantid)")],
    as_json: JsonFlag = False,
) -> None:
    """An order: state, airway bills, cancellation requests and its whole history."""
    from services.pickup_svc.adapters.queries import order_view

    view = _read(lambda conn: order_view(conn, tenant, order_id))
    if view is None:
        console.fail(f"order {order_id} not found for tenant {tenant}")
    if as_json:
        console.emit_json(view)
        return
    console.line(f"Order {view['order_id']}  {view['state'].upper()}  courier {view['courier']}")
    if view["invoice_no"]:
        console.line(f"  invoice {view['invoice_no']}, payments {', '.join(view['payment_nos'])}")
    console.table(
        "Airway bills",
        ("awb", "courier", "status", "assigned", "voided"),
        [
            (b["awb"], b["courier"], b["status"], b["assigned_at"], b["voided_at"] or "")
            for b in view["airway_bills"]
        ],
    )
    console.table(
        "History",
        ("when", "what", "by", "detail"),
        [(h["at"], h["what"], h["by"] or "", h["detail"] or "") for h in view["history"]],
    )


@pickup_app.command("list")
def list_command(
    status: Annotated[str, typer.Option("--status", help="e.g. cancel_pending, void_failed")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="one seller account; all when omitted")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Orders in a state, across tenants unless --tenant: e.g. what waits for an admin."""
    from services.pickup_svc.adapters.queries import STATES, list_orders

    if status not in STATES:
        console.fail(f"--status must be one of {', '.join(sorted(STATES))}")
    orders = _read(lambda conn: list_orders(conn, status=status, tenant_id=tenant, limit=limit))
    if as_json:
        console.emit_json({"orders": orders})
        return
    console.table(
        f"Orders {status}",
        ("tenant", "order", "awb", "requested by", "requested at", "reason"),
        [
            (
                o["tenant_id"],
                o["order_id"],
                o["awb"] or "",
                (o["request"] or {}).get("requested_by") or "",
                (o["request"] or {}).get("requested_at") or "",
                (o["request"] or {}).get("reason") or "",
            )
            for o in orders
        ],
    )


def _read(query: Any) -> Any:
    settings = console.settings()
    try:
        with psycopg.connect(settings.database_dsn()) as conn:
            return query(conn)
    except psycopg.Error as exc:
        console.fail(f"cannot read the pickup database: {exc}")
