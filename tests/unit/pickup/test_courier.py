"""The local courier gateway mints well-formed, distinct airway bill numbers."""

from __future__ import annotations

import itertools
import re

from services.pickup_svc.courier import CourierGateway, LocalCourierGateway


def test_bill_is_courier_prefix_and_base32_of_the_random_value() -> None:
    gateway = LocalCourierGateway(random_bits=lambda: 0)

    awb = gateway.new_airway_bill(courier="j&t express", order_id="SO-1", tenant_id="t")

    assert awb == "JTEXPRESS-AAAAAAAAAAAAA"


def test_distinct_random_values_give_distinct_bills() -> None:
    counter = itertools.count(1)
    gateway: CourierGateway = LocalCourierGateway(random_bits=lambda: next(counter))

    bills = {
        gateway.new_airway_bill(courier="jne", order_id="SO-1", tenant_id="t") for _ in range(500)
    }

    assert len(bills) == 500


def test_default_source_is_random_and_well_formed() -> None:
    gateway = LocalCourierGateway()

    bills = [gateway.new_airway_bill(courier="", order_id="SO-1", tenant_id="t") for _ in range(50)]

    assert all(re.fullmatch(r"AWB-[A-Z2-7]{13}", awb) for awb in bills)
    assert len(set(bills)) == 50
