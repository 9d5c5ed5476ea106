"""Pure payment domain: invoices, customer payments and their allocations, with no IO.

Import from the submodules: ``model``, ``commands``, ``events``, ``outcomes``, ``services``.
"""
