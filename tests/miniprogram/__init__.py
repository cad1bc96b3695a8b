"""Tests of the customer layer (`/mp/v1`)."""
