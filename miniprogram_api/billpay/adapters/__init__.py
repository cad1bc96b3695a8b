"""External systems of bill payment behind interfaces: billers, the bank core and member notifications."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from app.core.config import get_settings
from miniprogram_api.billpay.adapters.bank import PaymentProvider
from miniprogram_api.billpay.adapters.biller import BillerAdapter, BillerProfile, BillerUnavailable
from miniprogram_api.billpay.adapters.notify import MessagesNotifier, Notifier
from miniprogram_api.billpay.adapters.simulated_bank import SimulatedBank
from miniprogram_api.billpay.adapters.simulated_biller import SimulatedBiller, SimulatedBillerConfig
from miniprogram_api.billpay.models import Biller

T = TypeVar("T")

# adapter name -> (factory, the model validating its `adapter_config`)
BILLER_ADAPTERS: dict[str, tuple[Callable[[BillerProfile], BillerAdapter], type[BaseModel]]] = {
    "simulated": (SimulatedBiller, SimulatedBillerConfig),
}


def validate_adapter_config(adapter: str, config: dict[str, Any]) -> dict[str, Any]:
    """The adapter's configuration with defaults filled in (raises KeyError or ValidationError)."""
    _, model = BILLER_ADAPTERS[adapter]
    return model.model_validate(config).model_dump()


def biller_adapter(biller: Biller) -> BillerAdapter:
    """The adapter talking to this biller."""
    factory, _ = BILLER_ADAPTERS[biller.adapter]
    return factory(BillerProfile(code=biller.code, type=biller.type, config=biller.adapter_config))


async def within_deadline(call: Awaitable[T]) -> T:
    """Await a biller call, turning a call slower than `billpay_biller_timeout` into BillerUnavailable."""
    try:
        return await asyncio.wait_for(call, timeout=get_settings().billpay_biller_timeout)
    except TimeoutError:
        raise BillerUnavailable("biller call timed out") from None


_bank = SimulatedBank()
_notifier = MessagesNotifier()


def payment_provider() -> PaymentProvider:
    """The bank core (the simulated one: a real core connects here)."""
    return _bank


def notifier() -> Notifier:
    """Where member notifications go (Linli's messages)."""
    return _notifier
