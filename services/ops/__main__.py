"""``python -m services.ops`` is the ``lunas`` command."""

from services.ops.cli import main

main()
