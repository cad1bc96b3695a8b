"""The bank core this process talks to, installed once by the composition root."""

from __future__ import annotations

from app.core.bank.interface import PaymentProvider

_provider: PaymentProvider | None = None


def install_provider(provider: PaymentProvider) -> None:
    """Use this bank core from now on (the composition root calls it when it wires the process)."""
    global _provider
    _provider = provider


def payment_provider() -> PaymentProvider:
    """The installed bank core (RuntimeError before `app.wiring.wire()` ran)."""
    if _provider is None:
        raise RuntimeError("no bank core installed: app.wiring.wire() installs it")
    return _provider
