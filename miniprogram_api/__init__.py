"""The customer-facing `/mp/v1` layer: calls domain services; owns only the bill-payment scenario."""
