"""Pure pickup domain: orders, airway bills and pickup cancellation requests (seed 002).

No IO lives here: time, ids and airway bill numbers are passed in by the caller.
"""
