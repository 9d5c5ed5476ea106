"""Development tooling around the contract's examples; not part of the shipped wheel."""
